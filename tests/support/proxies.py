"""Real reverse proxies for tests: nginx and Caddy on free loopback ports, and an upstream that echoes headers.

Each proxy runs as the test's own process with its configuration, logs, pid and temporary files in
a directory of the test (no system path is written), in front of ``EchoUpstream``: a tiny
``http.server`` that answers every request with the method, path and headers it received, as
JSON. The configurations are the shipped ones (``apikeys.forward_auth.proxy_configurations``,
which docs/forward-auth.md and the dashboard show), filled in for loopback.
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apikeys.forward_auth import proxy_configurations
from tests.support.servers import _listening_socket

READY_TIMEOUT = 20
STOP_TIMEOUT = 10


def proxies_required() -> bool:
    """Return whether a missing proxy binary must fail the test (CI, or TEST_REQUIRE_ENGINES) rather than skip it."""
    flags = (os.environ.get("CI", ""), os.environ.get("TEST_REQUIRE_ENGINES", ""))
    return any(flag.strip().lower() in {"1", "true", "yes"} for flag in flags)


def require_binary(name: str) -> str:
    """Return the path of ``name``; skip without it, or fail under CI=true or TEST_REQUIRE_ENGINES=1."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/bin")
    if path is None:
        reason = f"needs the {name} binary (Debian package {name}); it is not installed"
        if proxies_required():
            pytest.fail(f"{reason}, but CI or TEST_REQUIRE_ENGINES is set: this run must test through {name}.")
        pytest.skip(reason)
    return path


# --- The upstream -----------------------------------------------------------------------------


class _EchoHandler(BaseHTTPRequestHandler):
    """Answer any method with ``{"method", "path", "headers"}`` as JSON, and count the request."""

    protocol_version = "HTTP/1.1"

    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.hits += 1
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): v for name, v in self.headers.items()},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name):
        # do_GET, do_POST, do_PROPFIND, ...: every method is echoed.
        if name.startswith("do_"):
            return self._echo
        raise AttributeError(name)

    def log_message(self, format, *args):
        pass


class EchoUpstream:
    """The protected service: echoes what it received; ``hits`` counts the requests that reached it."""

    def __init__(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
        self._server.daemon_threads = True
        self._server.hits = 0
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def hits(self) -> int:
        return self._server.hits

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- The proxies ------------------------------------------------------------------------------


def _free_port() -> int:
    # The proxies bind their own port, so the port is chosen, released and taken at once.
    sock = _listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"The proxy exited ({process.returncode}):\n{_tail(log)}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"The proxy did not listen on port {port} within {READY_TIMEOUT} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Proxy:
    """A running proxy: its base URL, process and the files to read when something fails."""

    name: str
    url: str
    process: subprocess.Popen
    workdir: Path
    logs: list[Path] = field(default_factory=list)

    def log_tail(self) -> str:
        """Return the end of each of the proxy's logs, for failure messages."""
        return "\n".join(f"--- {log.name} ---\n{_tail(log)}" for log in self.logs)

    def stop(self) -> None:
        """Stop the proxy, killing it if it does not stop in time."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def nginx_config(*, listen: int, authorize_url: str, upstream: str, workdir: Path) -> str:
    """Return a whole nginx.conf around the shipped server block, filled in for loopback.

    ``upstream`` is the protected service's ``127.0.0.1:PORT``. Every path nginx writes is in ``workdir``.
    """
    server = proxy_configurations(
        authorize_url=authorize_url, listen=f"127.0.0.1:{listen}", server_name="_", upstream_url=f"http://{upstream}"
    )["nginx"]
    temp = {name: workdir / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    # Started as root (as in CI), nginx's workers would switch to an unprivileged user that cannot
    # write the request bodies it buffers into this test's private directory.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
{server}
}}
"""


def start_nginx(*, authorize_url: str, upstream: str, workdir: Path) -> Proxy:
    """Start Debian's nginx (in the foreground, as this user) with the docs page's configuration."""
    binary = require_binary("nginx")
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = workdir / "nginx.conf"
    config.write_text(nginx_config(listen=port, authorize_url=authorize_url, upstream=upstream, workdir=workdir))
    output = workdir / "nginx.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-p", str(workdir), "-c", str(config), "-e", str(workdir / "error.log")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    proxy = Proxy("nginx", f"http://127.0.0.1:{port}", process, workdir, [output, workdir / "error.log"])
    _wait_for_port(port, process, output)
    return proxy


def caddy_config(*, listen: int, authorize_url: str, upstream: str) -> str:
    """Return a whole Caddyfile around the shipped site block, filled in for loopback (admin API and HTTPS off)."""
    site = proxy_configurations(authorize_url=authorize_url, site=f"http://:{listen}", upstream=upstream)["Caddy"]
    # Any Host header, on loopback only.
    site = site.replace(f"http://:{listen} {{\n", f"http://:{listen} {{\n\tbind 127.0.0.1\n", 1)
    return "{\n\tadmin off\n\tauto_https off\n}\n\n" + site


def start_caddy(*, authorize_url: str, upstream: str, workdir: Path) -> Proxy:
    """Start Debian's Caddy with the docs page's configuration, its data and config directories in ``workdir``."""
    binary = require_binary("caddy")
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = workdir / "Caddyfile"
    config.write_text(caddy_config(listen=port, authorize_url=authorize_url, upstream=upstream))
    output = workdir / "caddy.out"
    env = {
        **os.environ,
        "HOME": str(workdir),
        "XDG_DATA_HOME": str(workdir / "data"),
        "XDG_CONFIG_HOME": str(workdir / "config"),
    }
    with output.open("wb") as out:
        process = subprocess.Popen(
            [binary, "run", "--config", str(config), "--adapter", "caddyfile"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    proxy = Proxy("caddy", f"http://127.0.0.1:{port}", process, workdir, [output])
    _wait_for_port(port, process, output)
    return proxy
