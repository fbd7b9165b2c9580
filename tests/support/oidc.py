"""A real OpenID Connect provider for tests: tests/support/oidc_provider under gunicorn on loopback.

``start_provider(tmp_dir, redirect_uri=...)`` generates an RSA key, prepares the provider's SQLite
database (a person in the group ``GROUP``, the envkeys client with ``redirect_uri``), starts
gunicorn on a free port and waits until the discovery document answers. The caller stops it.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
USERNAME = "dana"
PASSWORD = "dana-provider-password"
GROUP = "platform"
CLIENT_ID = "envkeys-test-client"


@dataclass
class Provider:
    """A running provider: its issuer URL, the client secret, and how to change and stop it."""

    issuer: str
    client_secret: str
    process: subprocess.Popen
    env: dict
    log: Path

    def run(self, *args: str) -> None:
        """Run a setup_provider action against the provider's database."""
        subprocess.run(
            [sys.executable, "-m", "tests.support.oidc_provider.setup_provider", *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self) -> None:
        """Stop gunicorn and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rsa_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def start_provider(tmp_dir: Path, *, redirect_uri: str) -> Provider:
    """Start the provider with one person in ``GROUP`` and the envkeys client registered."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    client_secret = secrets.token_urlsafe(24)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "tests.support.oidc_provider.settings",
        "PROVIDER_SECRET_KEY": secrets.token_urlsafe(32),
        "PROVIDER_DATABASE": str(tmp_dir / "provider.sqlite3"),
        "PROVIDER_RSA_PRIVATE_KEY": _rsa_private_key(),
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_dir / "provider.log"
    provider = Provider(issuer="", client_secret=client_secret, process=None, env=env, log=log)
    provider.run("setup", USERNAME, PASSWORD, GROUP, CLIENT_ID, client_secret, redirect_uri)
    port = _free_port()
    with log.open("wb") as out:
        provider.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "tests.support.oidc_provider.wsgi",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    provider.issuer = f"http://127.0.0.1:{port}/o"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            raise RuntimeError(f"the provider exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{provider.issuer}/.well-known/openid-configuration", timeout=2) as answer:
                if json.load(answer).get("issuer") == provider.issuer:
                    return provider
        except OSError:
            time.sleep(0.1)
    provider.stop()
    raise RuntimeError(f"the provider did not answer: {log.read_text(errors='replace')}")
