"""Real app server processes for tests: gunicorn running config.wsgi on loopback.

Each server gets a listening socket that the test process binds first (on a free port) and hands
to gunicorn as ``fd://N``: no port can be taken in between and no polling is needed, because a
request waits in the socket's backlog until the worker is ready to answer it.
"""

import base64
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from gunicorn.config import KNOWN_SETTINGS

# A request that gets no answer in this time fails the test instead of hanging the suite.
REQUEST_TIMEOUT = 60
STOP_TIMEOUT = 15

# Variables of the test process that must not leak into a server's own configuration.
_TEST_ONLY_VARIABLES = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CACHE_URL", "SECRET_KEY", "PYTEST_XDIST_WORKER"}


@dataclass
class Reply:
    """What a server answered: status, headers and the body (parsed when it is JSON)."""

    status: int
    headers: dict
    body: bytes

    def json(self):
        """Return the body parsed as JSON."""
        return json.loads(self.body)


def _listening_socket() -> socket.socket:
    """Return a socket listening on a free loopback port.

    ``TEST_SERVER_PORTS=FIRST-LAST`` keeps the ports within a range (for shared machines);
    otherwise the kernel picks a free ephemeral port.
    """
    ports = os.environ.get("TEST_SERVER_PORTS", "")
    candidates = [0]
    if ports:
        first, _, last = ports.partition("-")
        candidates = list(range(int(first), int(last or first) + 1))
    for port in candidates:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.listen(64)
        return sock
    raise RuntimeError(f"No free port in TEST_SERVER_PORTS={ports}.")


@dataclass
class AppServer:
    """One gunicorn process serving envkeys with the production settings module."""

    name: str
    url: str
    process: subprocess.Popen
    log_path: Path

    def request(self, method: str, path: str, *, auth=None, data=None, headers=None) -> Reply:
        """Send one request and return the reply (4xx and 5xx included, never raised).

        ``auth`` is an ``(access_key, secret)`` pair sent as HTTP Basic; ``data`` is sent as JSON.
        """
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        body = None
        if data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())
        except OSError as error:
            raise AssertionError(f"{self.name} did not answer {method} {path}: {error}\n{self.log_tail()}") from error

    def raw(self, head: bytes, body: bytes = b"") -> Reply:
        """Send ``head`` (request line and headers, CRLF-separated, without the blank line) and ``body`` as is.

        For what urllib will not send: chunked bodies, or the first bytes of a body that is
        announced longer (the server must answer without waiting for the rest).
        """
        host, port = self.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=REQUEST_TIMEOUT) as sock:
            sock.sendall(head.rstrip(b"\r\n") + b"\r\nConnection: close\r\n\r\n" + body)
            response = http.client.HTTPResponse(sock)
            try:
                response.begin()
                return Reply(response.status, dict(response.headers), response.read())
            except OSError as error:
                raise AssertionError(f"{self.name} did not answer {head[:60]!r}: {error}\n{self.log_tail()}") from error
            finally:
                response.close()

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the server's output, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return f"--- last lines of {self.name}'s log ---\n" + "\n".join(text.splitlines()[-lines:])


def start_app_server(*, name: str, env: dict, log_dir: Path, workers: int = 1) -> AppServer:
    """Start gunicorn on a free loopback port with the given environment on top of a clean one.

    The server uses ``config.settings`` (not the test settings): what it sees comes only from
    ``env``, plus this process's PATH and the like.
    """
    sock = _listening_socket()
    port = sock.getsockname()[1]
    base = {key: value for key, value in os.environ.items() if key not in _TEST_ONLY_VARIABLES}
    server_env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    log_path = log_dir / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        # As in production (docs/deployment.md): the metrics directory shared by the workers.
        "--config",
        "python:config.gunicorn",
        "--bind",
        f"fd://{sock.fileno()}",
        "--workers",
        str(workers),
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        "-",
    ]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        # gunicorn 25+ opens a control socket at one path per user; servers must not share it.
        command.append("--no-control-socket")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=server_env,
            pass_fds=[sock.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # The server holds its own copy of the socket now.
    sock.close()
    return AppServer(name=name, url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)


def stop_app_servers(servers: list[AppServer]) -> None:
    """Stop the servers (all at once, quick shutdown), killing any that does not stop in time."""
    running = [server for server in servers if server.process.poll() is None]
    for server in running:
        server.process.send_signal(signal.SIGINT)
    for server in running:
        try:
            server.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=STOP_TIMEOUT)
