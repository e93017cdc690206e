"""Sign-ins live on the server: signing out ends one for good, a changed token ends all of them, a restart
with the same token keeps them; a viewer ends only the webcam sessions it opened."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from aiortc import RTCPeerConnection

from streamer.core.model import Model

from .api import api_client
from .client import ClipTrack

ADMIN, VIEWER = "adm1n-t0ken-xyz", "v1ewer-t0ken-xyz"


async def sign_in(client, token: str) -> str:
    resp = await client.post("/api/auth/login", json={"token": token})
    assert resp.status == 200
    return resp.cookies["dfs_auth"].value


async def role_with(client, cookie: str) -> tuple[str | None, int]:
    """What a kept copy of the cookie still opens: (the role /api/auth says, the status of a read)."""
    client.session.cookie_jar.clear()
    headers = {"Cookie": f"dfs_auth={cookie}"}
    role = (await (await client.get("/api/auth", headers=headers)).json())["role"]
    return role, (await client.get("/api/scans", headers=headers)).status


async def test_sign_out_ends_the_session_on_the_server(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data", api_token=ADMIN, viewer_token=VIEWER) as client:
        cookie = await sign_in(client, ADMIN)
        other = await sign_in(client, VIEWER)
        assert await role_with(client, cookie) == ("admin", 200)
        out = await client.post("/api/auth/logout", headers={"Cookie": f"dfs_auth={cookie}"})
        assert out.status == 200
        assert await role_with(client, cookie) == (None, 401)  # the old cookie opens nothing any more
        assert await role_with(client, other) == ("viewer", 200)  # another sign-in is untouched
        assert await role_with(client, "made-up") == (None, 401)
    rows = sqlite3.connect(tmp_path / "data" / "deepfake-streamer.sqlite").execute(
        "SELECT digest, role, fingerprint FROM signins").fetchall()
    assert [r[1] for r in rows] == ["viewer"]
    assert not any(other in str(r) or VIEWER in str(r) for r in rows)  # neither the cookie nor the token


async def test_a_changed_token_ends_every_sign_in_and_the_same_token_keeps_them(random_model, tmp_path):
    data = tmp_path / "data"
    async with api_client(random_model, data, api_token=ADMIN, viewer_token=VIEWER) as client:
        admin, viewer = await sign_in(client, ADMIN), await sign_in(client, VIEWER)
    async with api_client(random_model, data, api_token=ADMIN, viewer_token=VIEWER) as client:
        assert await role_with(client, admin) == ("admin", 200)  # a restart keeps sign-ins
        assert await role_with(client, viewer) == ("viewer", 200)
    async with api_client(random_model, data, api_token="a-new-admin-token", viewer_token=VIEWER) as client:
        assert await role_with(client, admin) == (None, 401)
        assert await role_with(client, viewer) == ("viewer", 200)  # its own token did not change
    async with api_client(random_model, data, api_token="a-new-admin-token", viewer_token="new-viewer") as client:
        assert await role_with(client, viewer) == (None, 401)
    assert sqlite3.connect(data / "deepfake-streamer.sqlite").execute("SELECT COUNT(*) FROM signins").fetchone() \
        == (0,)


async def offer(client, headers: dict, clip) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    pc.addTransceiver(ClipTrack(Path(clip("single_face.mp4")), seconds=0.2), direction="sendonly")
    pc.createDataChannel("results")
    await pc.setLocalDescription(await pc.createOffer())
    resp = await client.post("/api/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"}, headers=headers)
    assert resp.status == 200, await resp.text()
    return pc, (await resp.json())["session"]


async def test_a_viewer_ends_only_its_own_webcam_sessions(random_model, tmp_path, clip):
    async with api_client(random_model, tmp_path / "data", api_token=ADMIN, viewer_token=VIEWER,
                          max_sessions=4) as client:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        viewer = {"Authorization": f"Bearer {VIEWER}"}
        viewer_cookie = {"Cookie": f"dfs_auth={await sign_in(client, VIEWER)}"}
        client.session.cookie_jar.clear()
        peers = []
        try:
            pc, admins = await offer(client, admin, clip)
            peers.append(pc)
            pc, viewers = await offer(client, viewer, clip)
            peers.append(pc)
            pc, signed_in = await offer(client, viewer_cookie, clip)
            peers.append(pc)
            for path in (f"/api/sessions/{admins}", f"/api/sessions/{signed_in}"):
                refused = await client.delete(path, headers=viewer)
                assert refused.status == 403 and "own" in (await refused.json())["error"], path
            refused = await client.post(f"/api/sessions/{admins}/close", headers=viewer_cookie)
            assert refused.status == 403
            assert (await client.delete(f"/api/sessions/{viewers}", headers=viewer)).status == 200
            assert (await client.delete(f"/api/sessions/{signed_in}", headers=viewer_cookie)).status == 200
            live = {s["id"] for s in (await (await client.get("/api/sessions", headers=admin)).json())["live"]}
            assert live == {admins[:4]}  # the list shows only a prefix of each id
            assert (await client.delete(f"/api/sessions/{admins}", headers=admin)).status == 200  # admin: any
        finally:
            for pc in peers:
                await pc.close()
