"""A real Prometheus server for tests: Debian's ``prometheus`` scraping app servers on loopback.

``start_prometheus(targets=[...], workdir=...)`` writes a configuration that scrapes each target's
/metrics every second, starts the binary on a free loopback port and returns a handle whose
``value(expr)`` asks the HTTP query API. Without the binary the calling test skips, unless
``CI=true`` or ``TEST_REQUIRE_ENGINES=1``, where it fails.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.engines import engines_required

STOP_TIMEOUT = 15


def prometheus_binary() -> str:
    """Return the path of the prometheus binary; skip the test without it (fail under CI or required engines)."""
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None)
    if found:
        return found
    reason = "needs Debian's prometheus package (apt-get install prometheus)"
    if engines_required() or os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}, but this run must not skip it (CI=true or TEST_REQUIRE_ENGINES=1).")
    pytest.skip(reason)


def _free_port() -> int:
    # Prometheus binds its own listening socket: take a free port and give it back just before.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrometheusServer:
    """A running Prometheus and its HTTP API."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def query(self, expr: str) -> list:
        """Return the result vector of an instant query."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        """Return the single value of an instant query, or None while it has no sample."""
        result = self.query(expr)
        if not result:
            return None
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    def wait_for(self, expr: str, expected: float, *, timeout: float = 60) -> float | None:
        """Ask ``expr`` until it equals ``expected`` (scrapes come every second) or ``timeout`` passes.

        Returns the last value seen, so the caller's assertion shows what Prometheus had.
        """
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{self.log_tail()}")
            try:
                seen = self.value(expr)
            except OSError:
                seen = None  # not listening yet
            if seen == expected:
                return seen
            time.sleep(0.25)
        return seen

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of Prometheus's log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_prometheus(*, targets: list[str], workdir: Path) -> PrometheusServer:
    """Start Prometheus scraping ``host:port`` targets' /metrics every second."""
    binary = prometheus_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: envkeys\n"
        "    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: {json.dumps(targets)}\n"
    )
    port = _free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return PrometheusServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)


def stop_prometheus(server: PrometheusServer) -> None:
    """Stop Prometheus (SIGTERM), killing it if it does not stop in time."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=STOP_TIMEOUT)
