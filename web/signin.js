// Sign-in: POST the token once; the server answers with an HttpOnly cookie, then back to the page asked for.
const form = document.getElementById("signin-form");
const failure = document.getElementById("signin-error");

/** Only a path on this server: never an absolute or protocol-relative address. */
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return /^\/(?!\/)[^\\]*$/.test(next) ? next : "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  failure.hidden = true;
  let resp;
  try {
    resp = await fetch("/api/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: form.token.value }),
    });
  } catch {
    resp = null;
  }
  if (resp && resp.ok) {
    location.replace(nextPage());
    return;
  }
  failure.textContent = !resp ? "The server cannot be reached."
    : resp.status === 429 ? "Too many attempts: wait a little and try again."
      : "That token is not valid for this server.";
  failure.hidden = false;
  form.token.select();
});
