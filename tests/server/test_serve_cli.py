"""`deepfake-streamer serve` as a user runs it: flags, TLS, clean exit on Ctrl-C, clear errors."""
from __future__ import annotations

import datetime
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def serve(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "streamer.cli", "serve", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_json(url: str, context: ssl.SSLContext | None = None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.timeout(120)
def test_serve_over_tls_with_env_and_flags_then_ctrl_c(tmp_path: Path, random_model_dir: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    proc = serve(["--model", str(random_model_dir), "--port", str(port), "--tls-cert", str(cert),
                  "--tls-key", str(key), "--max-sessions", "3", "--ice-address", "127.0.0.1",
                  "--ice-server", "stun:stun.invalid:3478", "--data-dir", str(tmp_path / "data")], tmp_path)
    try:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        health = wait_json(f"https://127.0.0.1:{port}/healthz", insecure)
        assert (health["status"], health["sessions"], health["maxSessions"]) == ("ok", 0, 3)
        config = wait_json(f"https://127.0.0.1:{port}/api/config", insecure)
        assert config["iceServers"] == [{"urls": "stun:stun.invalid:3478"}] and config["maxSessions"] == 3
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=insecure, timeout=5) as page:
            html = page.read().decode()
            assert "/static/app.js" in html
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"https://localhost:{port}/" in out


def test_serve_without_a_model_says_how_to_get_one(tmp_path: Path) -> None:
    proc = serve(["--model", str(tmp_path / "nothing"), "--port", str(free_port())], tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "no model at" in err and "--model" in err


def test_serve_rejects_bad_settings(tmp_path: Path, random_model_dir: Path) -> None:
    proc = serve(["--model", str(random_model_dir), "--ice-server", "turn:t.example:3478"], tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "needs --turn-username" in err


@pytest.mark.timeout(120)
def test_serve_prints_the_real_port_after_binding_and_logs_bad_requests_in_one_line(
        tmp_path: Path, random_model_dir: Path) -> None:
    proc = serve(["--model", str(random_model_dir), "--port", "0", "--data-dir", str(tmp_path / "data")], tmp_path)
    try:
        line = proc.stdout.readline()
        assert line.startswith("deepfake-streamer: open http://localhost:"), line
        port = int(line.split("localhost:")[1].split("/")[0])
        assert port > 0
        assert wait_json(f"http://127.0.0.1:{port}/healthz", timeout=10)["status"] == "ok"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            answer = raw.recv(4096)
        assert answer.split(b" ")[1] == b"400", answer[:80]
        assert wait_json(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"
        taken = serve(["--model", str(random_model_dir), "--port", str(port)], tmp_path)
        _, taken_err = taken.communicate(timeout=60)
        assert taken.returncode == 2 and "error:" in taken_err and "Traceback" not in taken_err
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert len([x for x in err.splitlines() if "bad request refused" in x]) == 1, err


def test_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "streamer.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("deepfake-streamer 0.")
