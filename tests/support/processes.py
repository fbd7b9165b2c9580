"""Throwaway Redis and PostgreSQL servers that a test may stop, pause (SIGSTOP) and resume.

The suite's own Redis and PostgreSQL are shared by every xdist worker, so a test that breaks a
server on purpose starts its own: on a free loopback port, in a temporary directory, stopped and
removed at the end. A missing binary skips the test (fails it under ``TEST_REQUIRE_ENGINES=1``).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.engines import engines_required

STARTUP_TIMEOUT = 60


def _missing(what: str) -> None:
    if engines_required() or os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is not installed, but this pass must run the tests that need it.")
    pytest.skip(f"{what} is not installed")


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"The server did not listen on port {port} within {STARTUP_TIMEOUT} s.")


@dataclass
class PausableProcess:
    """A server process that can be paused and resumed like an operator's ``kill -STOP`` / ``kill -CONT``."""

    pids: list[int] = field(default_factory=list)

    def pause(self) -> None:
        """Stop every process of the server with SIGSTOP: its kernel still accepts and ACKs TCP."""
        for pid in self.pids:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let the paused processes run again (SIGCONT)."""
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


class RedisServer(PausableProcess):
    """A redis-server of its own on a free loopback port, nothing saved to disk."""

    def __init__(self, directory: Path):
        super().__init__()
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            _missing("redis-server")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Return the CACHE_URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or start again, on the same port) the server and wait until it listens."""
        log = self.directory / "redis.log"
        command = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.directory), "--logfile", str(log)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.pids = [self.process.pid]
        _wait_for_port(self.port, self.process, log)

    def stop(self) -> None:
        """Stop the server (SIGKILL: gone at once, like a crash), resuming it first if paused."""
        if self.process is None:
            return
        self.resume()
        self.process.kill()
        self.process.wait(timeout=15)
        self.process = None
        self.pids = []


class PostgreSQLServer(PausableProcess):
    """A PostgreSQL cluster of its own (initdb) on a free loopback port, with a role and a database "envkeys"."""

    PASSWORD = "envkeys"

    def __init__(self, directory: Path):
        super().__init__()
        self.bin = self._find_bin()
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.postmaster_pid: int | None = None

    @staticmethod
    def _find_bin() -> Path:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))
        if versions:
            return versions[-1]
        pg_ctl = shutil.which("pg_ctl")
        if pg_ctl is None:
            _missing("PostgreSQL (initdb, pg_ctl)")
        return Path(pg_ctl).parent

    def _run(self, *command: str) -> None:
        # PostgreSQL refuses to run as root: as root, its commands run as the postgres user.
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    @property
    def url(self) -> str:
        """Return the DATABASE_URL of the "envkeys" database on this server."""
        return f"postgres://envkeys:{self.PASSWORD}@127.0.0.1:{self.port}/envkeys"

    def start(self) -> None:
        """Create the cluster, start the server, and create the "envkeys" role and database."""
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--no-sync", "--auth=trust")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off"
        log = self.directory / "server.log"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"
        )
        self.postmaster_pid = int((self.data / "postmaster.pid").read_text().split()[0])
        psql = [str(self.bin / "psql"), "-h", str(self.directory), "-p", str(self.port), "-U", "postgres", "-q"]
        self._run(*psql, "-c", f"CREATE ROLE envkeys LOGIN PASSWORD '{self.PASSWORD}'")
        self._run(*psql, "-c", "CREATE DATABASE envkeys OWNER envkeys")

    def pause(self) -> None:
        """SIGSTOP the postmaster and every one of its children (the backends serving connections)."""
        self.pids = [self.postmaster_pid, *self._children()]
        super().pause()

    def _children(self) -> list[int]:
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # "pid (name) state ppid ...": the name may hold spaces, so split after its ")".
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.postmaster_pid:
                children.append(int(stat.parent.name))
        return children

    def stop(self) -> None:
        """Stop the server at once (resuming it first if paused)."""
        if self.postmaster_pid is None:
            return
        self.resume()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        self.postmaster_pid = None


def server_directory() -> Path:
    """Return a new temporary directory that the postgres user may use too (pytest's tmp_path is private)."""
    directory = Path(tempfile.mkdtemp(prefix="envkeys-test-"))
    directory.chmod(0o755)
    return directory
