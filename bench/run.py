"""Benchmark key authentication against the same requests with access control off.

One command (``make bench``) does everything on loopback with a throw-away SQLite database:

1. creates two databases in a temporary directory: 10 keys in one environment, and 100,000 keys
   across 1,000 environments;
2. starts gunicorn (2 sync workers) three times: access control off, on (10 keys), on (100k keys);
3. drives each case with wrk (a bounded Python load generator if wrk is missing), interleaving
   the cases round after round so that noise from other work on the machine hits them all alike;
4. prints req/s, p50/p99 latency and the ratio to the access-control-off case, with the targets;
5. measures a single worker's RSS after 1,000 and after 100,000 requests made with 10,000
   different keys;
6. forward authentication: the authorize endpoint next to the environment endpoint (worker CPU
   per request), and a static upstream through nginx with and without ``auth_request`` to it,
   with the shipped nginx configuration (``--forward-auth-only`` runs just this part).

Every load is bounded in time (and the memory phase also in requests) and targets 127.0.0.1.
"""

import argparse
import base64
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = Path(__file__).resolve().parent / "requests.lua"
HOST = "127.0.0.1"

ENDPOINTS = {
    "detail": ("GET /api/v1/environments/{id}/", "/api/v1/environments/{id}/"),
    # The same page size everywhere, so the 10-key and 100k-key cases render the same amount.
    "keys": ("GET /api/v1/environments/{id}/apikeys/?page_size=10", "/api/v1/environments/{id}/apikeys/?page_size=10"),
}


def basic(access_key: str, secret: str) -> str:
    """Return the Authorization header that ``curl -u ACCESS:SECRET`` sends."""
    return "Basic " + base64.b64encode(f"{access_key}:{secret}".encode()).decode()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Servers ----------------------------------------------------------------------------------


class Server:
    """A gunicorn serving envkeys on 127.0.0.1:port with its own database and settings."""

    def __init__(self, *, name: str, port: int, database: Path, workdir: Path, access_control: bool, workers: int):
        self.name = name
        self.port = port
        self.log_path = workdir / f"server-{name}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{database}",
            "ACCESS_CONTROL": "true" if access_control else "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": HOST,
            "STATIC_ROOT": str(workdir / "static"),
            "PYTHONDONTWRITEBYTECODE": "1",
            # The brute-force limits would answer a flood of bad credentials with cheap 429s after
            # 60 failures (and the valid key too, from the same address): off, so that every
            # failure case pays for the full check, which is the worst case target 4 is about.
            "AUTH_FAILURE_RATE_PER_ADDRESS": "",
            "AUTH_FAILURE_RATE_PER_KEY": "",
        }
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def start(self) -> "Server":
        if _port_in_use(self.port):
            raise SystemExit(f"Port {self.port} is already in use; pick another with --port.")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            # As in production: the metrics of all workers in a shared directory (multiprocess mode).
            "--config",
            "python:config.gunicorn",
            "--chdir",
            str(ROOT),
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ]
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=output, stderr=output, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn {self.name} exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/api/v1/", timeout=2):
                    pass
                break
            except urllib.error.HTTPError:
                break  # 401 with access control on: the server answers.
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"gunicorn {self.name} did not answer on port {self.port}; see {self.log_path}")
        # Every worker must be up before measuring, not only the first one to answer.
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces: parse after the last ')'.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """Return the user + system CPU time used so far by the worker processes."""
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def _port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def rss_mb(pid: int) -> float:
    """Return the resident set size of a process in MB (VmRSS from /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"No VmRSS for pid {pid}")


# --- Load -------------------------------------------------------------------------------------


@dataclass
class Load:
    """What one bounded run of the load generator saw."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connection errors and timeouts; HTTP statuses are checked before the run
    non_2xx: int
    cpu_seconds: float = 0.0  # CPU time the server's workers used during the run
    proxy_cpu_seconds: float = 0.0  # CPU time nginx used during the run (forward-authentication phase)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """Worker CPU milliseconds per request: hardly moved by other work on the machine."""
        return self.cpu_seconds * 1000 / self.requests if self.requests else 0.0


def process_group_cpu_seconds(group: int) -> float:
    """Return the user + system CPU time used so far by every process of a process group (nginx's)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # the process group id
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def write_requests_file(path: Path, lines: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{url}\t{header}\n" for url, header in lines))
    return path


def run_load(
    *, port: int, requests_file: Path, lines, duration: float, connections: int, threads: int, cpus=None
) -> Load:
    """Drive the server with wrk (or the Python fallback) for ``duration`` seconds, on ``cpus`` if given."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return python_load(port=port, lines=lines, duration=duration, connections=connections)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        f"http://{HOST}:{port}",
        "--",
        str(requests_file),
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            return Load(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
                non_2xx=data["status_errors"],
            )
    raise SystemExit(f"wrk gave no summary:\n{completed.stdout}\n{completed.stderr}")


def python_load(*, port: int, lines, duration: float, connections: int, max_requests: int = 0) -> Load:
    """A bounded load generator for machines without wrk: threads, one request per connection."""
    deadline = time.monotonic() + duration
    lock = threading.Lock()
    state = {"next": 0, "sent": 0}
    latencies: list[float] = []
    counts = {"errors": 0, "non_2xx": 0}

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if max_requests and state["sent"] >= max_requests:
                    return
                state["sent"] += 1
                url, header = lines[state["next"] % len(lines)]
                state["next"] += 1
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(HOST, port, timeout=10)
                connection.request("GET", url, headers={"Authorization": header} if header else {})
                response = connection.getresponse()
                response.read()
                connection.close()
            except OSError:
                with lock:
                    counts["errors"] += 1
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status >= 400:
                    counts["non_2xx"] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(duration + 30)
    seconds = time.monotonic() - started
    latencies.sort()

    def percentile(fraction):
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000 if latencies else 0.0

    return Load(len(latencies), seconds, percentile(0.50), percentile(0.99), counts["errors"], counts["non_2xx"])


# --- Cases ------------------------------------------------------------------------------------


@dataclass
class Case:
    """One compared case: a server, the requests to cycle through, and what each must answer."""

    name: str
    label: str
    server: Server
    lines: dict[str, list[tuple[str, str]]]  # endpoint -> (url, Authorization) lines
    status: int
    code: str | None = None
    results: dict[str, list[Load]] = field(default_factory=dict)


def check_case(case: Case, endpoint: str) -> None:
    """Make sure the case answers what it claims to measure before timing it."""
    for url, header in case.lines[endpoint][:3]:
        request = urllib.request.Request(f"http://{HOST}:{case.server.port}{url}")
        if header:
            request.add_header("Authorization", header)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        if status != case.status:
            raise SystemExit(f"{case.label} {url}: expected HTTP {case.status}, got {status}: {body[:300]!r}")
        if case.code is not None and json.loads(body).get("code") != case.code:
            raise SystemExit(f"{case.label} {url}: expected code {case.code!r}, got {body[:300]!r}")


def seed(*, database: Path, workdir: Path, environments: int, keys_per_environment: int, export: int) -> list[dict]:
    out = workdir / f"{database.stem}-keys.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "bench-seeding-only",
        "STATIC_ROOT": str(workdir / "static"),
    }
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "seed.py"),
            "--environments",
            str(environments),
            "--keys-per-environment",
            str(keys_per_environment),
            "--export-per-environment",
            str(export),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return json.loads(out.read_text())


def migrate(database: Path, workdir: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "bench-migrate-only",
        "STATIC_ROOT": str(workdir / "static"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores ({model or platform.machine()}), Python {platform.python_version()}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def median_ratio(case: Case, reference: Case, endpoint: str, *, cpu: bool = False) -> float:
    """Return the median over rounds of the case's req/s divided by the reference's in that round.

    With ``cpu``, the ratio is of requests per worker CPU second instead (the reference's CPU time
    per request divided by the case's): higher is cheaper either way.
    """
    ratios = []
    for mine, theirs in zip(case.results[endpoint], reference.results[endpoint], strict=True):
        if cpu and mine.cpu_ms:
            ratios.append(theirs.cpu_ms / mine.cpu_ms)
        elif not cpu and theirs.rps:
            ratios.append(mine.rps / theirs.rps)
    return statistics.median(ratios) if ratios else 0.0


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("BENCH_PORT", "8765")),
        help="First of seven consecutive ports on 127.0.0.1 (default 8765, or $BENCH_PORT).",
    )
    parser.add_argument("--rounds", type=int, default=8, help="Rounds of every case (interleaved).")
    parser.add_argument("--duration", type=float, default=2, help="Seconds per case per round.")
    parser.add_argument("--warmup", type=float, default=1, help="Seconds of unmeasured load per case first.")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rotate-keys",
        type=int,
        default=10,
        help="Valid keys used in turn in the valid-key cases (at most 10 in the 10-key database).",
    )
    parser.add_argument("--memory-requests", type=int, default=100_000, help="0 skips the memory phase.")
    parser.add_argument("--memory-keys", type=int, default=10_000)
    parser.add_argument(
        "--forward-auth-rounds", type=int, default=6, help="Rounds of the forward-authentication cases (0 skips them)."
    )
    parser.add_argument(
        "--forward-auth-only",
        action="store_true",
        help="Only the forward-authentication cases: the 10-key database and one server, nothing else.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    parser.add_argument("--json", help="Also write the raw results to this file.")
    options = parser.parse_args()

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="envkeys-bench-"))
    (workdir / "static").mkdir()
    servers: list[Server] = []
    try:
        log(f"Work directory: {workdir}")
        log(f"Load generator: {shutil.which('wrk') or 'Python fallback (wrk not found)'}")
        small_db, big_db = workdir / "small.sqlite3", workdir / "big.sqlite3"
        t0 = time.monotonic()
        migrate(small_db, workdir)
        shutil.copyfile(small_db, big_db)
        small = seed(database=small_db, workdir=workdir, environments=1, keys_per_environment=10, export=10)
        if options.forward_auth_only:
            on = Server(
                name="on", port=options.port + 1, database=small_db, workdir=workdir, access_control=True, workers=2
            )
            servers.append(on.start())
            log(f"Machine: {machine()}")
            keys = small["keys"][: min(options.rotate_keys, len(small["keys"]))]
            forward_auth = forward_auth_phase(options, workdir, on, keys)
            print()
            print(f"Machine after: {machine()}")
            print("\n".join(forward_auth))
            print(f"Total time: {time.monotonic() - started:.0f} s")
            return 0
        memory_export = max(1, -(-options.memory_keys // 1000))
        big_keys = seed(
            database=big_db, workdir=workdir, environments=1000, keys_per_environment=100, export=memory_export
        )["keys"]
        small_keys, unused = small["keys"], small["unused"]
        log(f"Databases ready in {time.monotonic() - t0:.1f}s")

        off = Server(name="off", port=options.port, database=small_db, workdir=workdir, access_control=False, workers=2)
        on = Server(
            name="on", port=options.port + 1, database=small_db, workdir=workdir, access_control=True, workers=2
        )
        big = Server(
            name="big", port=options.port + 2, database=big_db, workdir=workdir, access_control=True, workers=2
        )
        for server in (off, on, big):
            servers.append(server.start())

        valid = small_keys[0]
        env_id = valid["environment_id"]
        # Both valid-key cases use the same number of different keys in turn, so they look keys up
        # and write last_used_at (once per key per minute) equally often: only the database size
        # differs. The 100k-key case takes its keys from environments spread over the 1,000.
        in_turn = min(options.rotate_keys, len(small_keys))
        per_environment = big_keys[::memory_export]
        spread = per_environment[:: max(1, len(per_environment) // in_turn)][:in_turn]

        def same(header):
            return {name: [(pattern.format(id=env_id), header)] for name, (_, pattern) in ENDPOINTS.items()}

        def each(keys):
            return {
                name: [
                    (pattern.format(id=key["environment_id"]), basic(key["access_key"], key["secret_key"]))
                    for key in keys
                ]
                for name, (_, pattern) in ENDPOINTS.items()
            }

        cases = [
            Case("off", "access control off, no credentials", off, same(""), 200),
            Case("valid", f"valid key ({in_turn} keys in turn)", on, each(small_keys[:in_turn]), 200),
            Case(
                "big",
                f"valid key, 100k-key database ({len(spread)} keys in {len(spread)} environments in turn)",
                big,
                each(spread),
                200,
            ),
            Case(
                "wrong",
                "wrong secret",
                on,
                same(basic(valid["access_key"], unused["other_secret_key"])),
                401,
                "authentication_failed",
            ),
            Case(
                "unknown",
                "unknown access key",
                on,
                same(basic(unused["access_key"], unused["secret_key"])),
                401,
                "authentication_failed",
            ),
            Case(
                "garbage",
                "garbage credentials",
                on,
                same(basic("not-a-key", "not-a-secret")),
                401,
                "authentication_failed",
            ),
        ]
        files = {}
        for case in cases:
            for endpoint in ENDPOINTS:
                check_case(case, endpoint)
                files[case.name, endpoint] = write_requests_file(
                    workdir / f"requests-{case.name}-{endpoint}.txt", case.lines[endpoint]
                )
                case.results[endpoint] = []

        def load(case, endpoint, duration):
            cpu_before = case.server.cpu_seconds()
            result = run_load(
                port=case.server.port,
                requests_file=files[case.name, endpoint],
                lines=case.lines[endpoint],
                duration=duration,
                connections=options.connections,
                threads=options.threads,
            )
            result.cpu_seconds = case.server.cpu_seconds() - cpu_before
            return result

        machine_before = machine()
        log(f"Machine: {machine_before}")
        if options.warmup > 0:
            log("Warming up every case ...")
            for case in cases:
                for endpoint in ENDPOINTS:
                    load(case, endpoint, options.warmup)

        order = [(case, endpoint) for endpoint in ENDPOINTS for case in cases]
        for round_number in range(options.rounds):
            # Every other round runs in reverse (off, valid, big, ..., then ..., big, valid, off), so a
            # drift in what else the machine is doing weighs on every case alike, and the valid-key
            # case always runs right next to the two cases it is compared with most closely.
            for case, endpoint in order if round_number % 2 == 0 else order[::-1]:
                result = load(case, endpoint, options.duration)
                case.results[endpoint].append(result)
                log(
                    f"round {round_number + 1}/{options.rounds} {endpoint:6} {case.name:8} "
                    f"{result.rps:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                    f"CPU {result.cpu_ms:5.2f} ms/req" + (f"  errors {result.errors}" if result.errors else "")
                )
        forward_auth = []
        if options.forward_auth_rounds > 0:
            forward_auth = forward_auth_phase(options, workdir, on, small_keys[:in_turn])
        machine_after = machine()
        for server in servers:
            server.stop()
        servers.clear()

        # --- The table ---
        by_name = {case.name: case for case in cases}
        lines = []
        lines.append(
            f"{options.rounds} interleaved rounds x {len(cases)} cases x {len(ENDPOINTS)} endpoints x "
            f"{options.duration:g} s; wrk -t{options.threads} -c{options.connections}; gunicorn 2 sync workers; SQLite."
        )
        lines.append(
            "req/s, latencies and worker CPU per request: median over rounds. Ratios: median over rounds of the "
            "case's req/s (or requests per worker CPU second) divided by the access-control-off case's in the "
            "same round; above 1 is faster than access control off."
        )
        lines.append("")
        lines.append("| endpoint | case | req/s | p50 ms | p99 ms | ratio to off | CPU ms/req | CPU ratio to off |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
        verdicts = []
        for endpoint, (title, _) in ENDPOINTS.items():
            for case in cases:
                runs = case.results[endpoint]
                rps = statistics.median(r.rps for r in runs)
                p50 = statistics.median(r.p50_ms for r in runs)
                p99 = statistics.median(r.p99_ms for r in runs)
                cpu_ms = statistics.median(r.cpu_ms for r in runs)
                ratio = median_ratio(case, by_name["off"], endpoint)
                cpu_ratio = median_ratio(case, by_name["off"], endpoint, cpu=True)
                lines.append(
                    f"| `{title}` | {case.label} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {ratio:.2f} | "
                    f"{cpu_ms:.2f} | {cpu_ratio:.2f} |"
                )
                errors = sum(r.errors for r in runs)
                wrong_status = sum(r.non_2xx if case.status < 400 else r.requests - r.non_2xx for r in runs)
                if errors or wrong_status:
                    verdicts.append(
                        f"WARNING {endpoint} {case.name}: {errors} socket errors, {wrong_status} unexpected statuses"
                    )
            valid, big = by_name["valid"], by_name["big"]
            ratio = median_ratio(valid, by_name["off"], endpoint)
            cpu_ratio = median_ratio(valid, by_name["off"], endpoint, cpu=True)
            verdicts.append(
                f"Target 1, {title}: valid key / access control off = {ratio:.2f} (CPU {cpu_ratio:.2f}); "
                f">= 0.90: {verdict(ratio >= 0.90)}"
            )
            for name in ("wrong", "unknown", "garbage"):
                ratio = median_ratio(by_name[name], valid, endpoint)
                cpu_ratio = median_ratio(by_name[name], valid, endpoint, cpu=True)
                verdicts.append(
                    f"Target 4, {title}: {by_name[name].label} / valid key = {ratio:.2f} (CPU {cpu_ratio:.2f}); "
                    f"costs no more than a valid key: {verdict(ratio >= 1.0)}"
                )
            ratio = median_ratio(big, valid, endpoint)
            cpu_ratio = median_ratio(big, valid, endpoint, cpu=True)
            p50_big = statistics.median(r.p50_ms for r in big.results[endpoint])
            p50_valid = statistics.median(r.p50_ms for r in valid.results[endpoint])
            verdicts.append(
                f"Target 3, {title}: 100k-key database / 10-key database = {ratio:.2f} (CPU {cpu_ratio:.2f}), "
                f"p50 {p50_big:.1f} vs {p50_valid:.1f} ms; within 10%: {verdict(ratio >= 0.90)}"
            )

        memory = None
        if options.memory_requests > 0:
            memory = measure_memory(options, workdir, big_db, big_keys, servers)

        print()
        print(f"Machine before the rounds: {machine_before}")
        print(f"Machine after the rounds:  {machine_after}")
        print()
        print("\n".join(lines))
        print()
        print("\n".join(verdicts))
        if forward_auth:
            print()
            print("\n".join(forward_auth))
        if memory:
            first, last, requests, keys = memory
            print(
                f"Target 5: one worker's RSS after 1,000 requests {first:.1f} MB, after {requests:,} requests "
                f"with {keys:,} different keys {last:.1f} MB, difference {last - first:+.1f} MB "
                f"(within 20 MB: {'PASS' if abs(last - first) <= 20 else 'FAIL'})"
            )
        print(f"Total time: {time.monotonic() - started:.0f} s")
        if options.json:
            Path(options.json).write_text(
                json.dumps(
                    {
                        case.name: {endpoint: [vars(r) for r in runs] for endpoint, runs in case.results.items()}
                        for case in cases
                    }
                    | {"memory": memory},
                    indent=1,
                )
            )
        return 0
    finally:
        for server in servers:
            server.stop()
        if options.keep:
            log(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# --- Forward authentication -------------------------------------------------------------------

NGINX_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_bench_config(*, workdir: Path, authorize_url: str, static: int, plain: int, protected: int) -> str:
    """Return an nginx.conf with three servers: a static upstream, a plain proxy to it, and the shipped protected one.

    The protected server is the configuration envkeys ships (``apikeys.forward_auth``), rendered by
    a separate Python process so that this script needs no Django setup of its own.
    """
    code = (
        "import sys, django; django.setup(); from apikeys.forward_auth import proxy_configurations; "
        "print(proxy_configurations(authorize_url=sys.argv[1], listen=sys.argv[2], server_name='_', "
        "upstream_url=sys.argv[3])['nginx'])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "bench-render-only"}
    server = subprocess.run(
        [sys.executable, "-c", code, authorize_url, f"{HOST}:{protected}", f"http://{HOST}:{static}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in NGINX_TEMP_DIRS:
        (workdir / name).mkdir(parents=True, exist_ok=True)
    temp = "\n".join(f"    {name}_temp_path {workdir / name};" for name in NGINX_TEMP_DIRS)
    return f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    # The static upstream: what the protected service costs at the least.
    server {{
        listen {HOST}:{static};
        location / {{ default_type text/plain; return 200 "static\\n"; }}
    }}
    # The same upstream through nginx without auth_request.
    server {{
        listen {HOST}:{plain};
        location / {{ proxy_pass http://{HOST}:{static}; }}
    }}
{server}
}}
"""


def _process_group_pids(group: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            pids.append(int(stat.parent.name))
    return pids


def _forward_auth_rounds(options, server, proxy, cases: dict, files: dict, cpus=None) -> dict[str, list[Load]]:
    """Run the cases in interleaved rounds; return each case's loads, with envkeys' and nginx's CPU."""
    results: dict[str, list[Load]] = {name: [] for name in cases}
    order = list(cases)
    where = " (pinned)" if cpus else ""
    for round_number in range(options.forward_auth_rounds):
        for name in order if round_number % 2 == 0 else order[::-1]:
            port, lines, _ = cases[name]
            cpu_before, proxy_before = server.cpu_seconds(), process_group_cpu_seconds(proxy.pid)
            result = run_load(
                port=port,
                requests_file=files[name],
                lines=lines,
                duration=options.duration,
                connections=options.connections,
                threads=options.threads,
                cpus=cpus,
            )
            result.cpu_seconds = server.cpu_seconds() - cpu_before
            result.proxy_cpu_seconds = process_group_cpu_seconds(proxy.pid) - proxy_before
            results[name].append(result)
            log(
                f"forward auth round {round_number + 1}/{options.forward_auth_rounds}{where} {name:32} "
                f"{result.rps:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  envkeys CPU {result.cpu_ms:5.2f} ms/req"
                + (f"  errors {result.errors}" if result.errors else "")
                + (f"  non-2xx {result.non_2xx}" if result.non_2xx else "")
            )
    return results


def forward_auth_phase(options, workdir: Path, server: "Server", keys: list[dict]) -> list[str]:
    """Measure the authorize endpoint next to the environment endpoint, and a static upstream through nginx.

    Four cases, interleaved round after round: the environment endpoint and the authorize endpoint
    of gunicorn directly (worker CPU per request), and the static upstream through nginx without
    and with ``auth_request`` to that authorize endpoint (req/s). Returns the lines to print.
    """
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/bin")
    if nginx is None:
        return ["Forward authentication: nginx is not installed, the nginx cases were skipped."]
    static, plain, protected = options.port + 4, options.port + 5, options.port + 6
    for port in (static, plain, protected):
        if _port_in_use(port):
            raise SystemExit(f"Port {port} is already in use; pick another first port with --port.")
    env_id = keys[0]["environment_id"]
    authorize_path = f"/api/v1/environments/{env_id}/authorize/"
    nginx_dir = workdir / "nginx"
    nginx_dir.mkdir(exist_ok=True)
    config = nginx_dir / "nginx.conf"
    config.write_text(
        nginx_bench_config(
            workdir=nginx_dir,
            authorize_url=f"http://{HOST}:{server.port}{authorize_path}",
            static=static,
            plain=plain,
            protected=protected,
        )
    )
    with open(nginx_dir / "nginx.out", "ab") as output:
        process = subprocess.Popen(
            [nginx, "-p", str(nginx_dir), "-c", str(config), "-e", str(nginx_dir / "error.log")],
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 20
        while not _port_in_use(protected):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"nginx did not start; see {nginx_dir}")
            time.sleep(0.1)
        headers = [basic(key["access_key"], key["secret_key"]) for key in keys]
        cases = {
            "environment endpoint": (server.port, [(f"/api/v1/environments/{env_id}/", h) for h in headers], 200),
            "authorize endpoint": (server.port, [(authorize_path, h) for h in headers], 200),
            "static via nginx": (plain, [("/", h) for h in headers], 200),
            "static via nginx + auth_request": (protected, [("/", h) for h in headers], 200),
        }
        refused = urllib.request.Request(f"http://{HOST}:{protected}/")
        try:
            urllib.request.urlopen(refused, timeout=10)
            raise SystemExit("The protected nginx server let a request without a key through.")
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise SystemExit(f"The protected nginx server answered {error.code} without a key, not 401.") from None
        files = {}
        for name, (port, lines, expected) in cases.items():
            request = urllib.request.Request(
                f"http://{HOST}:{port}{lines[0][0]}", headers={"Authorization": lines[0][1]}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status != expected:
                    raise SystemExit(f"{name}: expected HTTP {expected}, got {response.status}")
            files[name] = write_requests_file(workdir / f"requests-fa-{len(files)}.txt", lines)
        results = _forward_auth_rounds(options, server, process, cases, files)
        # The same question with envkeys' CPU held equal: gunicorn on a core of its own, nginx and
        # wrk on another. On shared cores nginx's own CPU is taken from envkeys' (see Target 7).
        pinned: dict[str, list[Load]] = {}
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) >= 2:
            envkeys_core, proxy_core = {cores[1]}, {cores[0]}
            envkeys_pids = [server.process.pid, *server.worker_pids()]
            proxy_pids = _process_group_pids(process.pid)
            try:
                for pid in envkeys_pids:
                    os.sched_setaffinity(pid, envkeys_core)
                for pid in proxy_pids:
                    os.sched_setaffinity(pid, proxy_core)
                pinned_cases = {name: cases[name] for name in ("authorize endpoint", "static via nginx + auth_request")}
                pinned = _forward_auth_rounds(options, server, process, pinned_cases, files, cpus=proxy_core)
            finally:
                for pid in envkeys_pids + proxy_pids:
                    try:
                        os.sched_setaffinity(pid, set(cores))
                    except OSError:
                        pass
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    lines = [
        f"Forward authentication: {options.forward_auth_rounds} interleaved rounds x {len(cases)} cases x "
        f"{options.duration:g} s, {len(keys)} valid keys in turn; nginx 1 worker, gunicorn {server.workers} sync "
        "workers. envkeys CPU: its workers' CPU per request (for the nginx cases, per request through nginx).",
        "",
        "| case | req/s | p50 ms | p99 ms | envkeys CPU ms/req | nginx CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        lines.append(
            f"| {name} | {statistics.median(r.rps for r in runs):.0f} | "
            f"{statistics.median(r.p50_ms for r in runs):.1f} | {statistics.median(r.p99_ms for r in runs):.1f} | "
            f"{statistics.median(r.cpu_ms for r in runs):.2f} | "
            f"{statistics.median(r.proxy_cpu_seconds * 1000 / r.requests if r.requests else 0 for r in runs):.2f} |"
        )
        bad = sum(r.errors + r.non_2xx for r in runs)
        if bad:
            lines.append(f"WARNING {name}: {bad} socket errors or non-2xx answers")
    cpu_ratio = statistics.median(
        a.cpu_ms / d.cpu_ms
        for a, d in zip(results["authorize endpoint"], results["environment endpoint"], strict=True)
        if d.cpu_ms
    )
    throughput = statistics.median(
        p.rps / a.rps
        for p, a in zip(results["static via nginx + auth_request"], results["authorize endpoint"], strict=True)
        if a.rps
    )
    lines += [
        "",
        f"Target 6: authorize endpoint CPU per request / environment endpoint's = {cpu_ratio:.2f}; "
        f"no higher than 1: {verdict(cpu_ratio <= 1.0)}",
        f"Target 7, all on shared cores: static upstream through nginx + auth_request req/s / authorize endpoint's "
        f"own = {throughput:.2f}; >= 0.90: {verdict(throughput >= 0.90)}",
    ]
    authorize_cpu = statistics.median(r.cpu_ms for r in results["authorize endpoint"])
    protected = results["static via nginx + auth_request"]
    envkeys_cpu = statistics.median(r.cpu_ms for r in protected)
    nginx_cpu = statistics.median(r.proxy_cpu_seconds * 1000 / r.requests for r in protected if r.requests)
    lines.append(
        f"  nginx's own CPU, {nginx_cpu:.2f} ms per protected request ({nginx_cpu / envkeys_cpu:.0%} of envkeys' "
        f"{envkeys_cpu:.2f} ms; {authorize_cpu:.2f} ms per direct authorize request), comes out of the cores "
        "envkeys uses when they are shared."
    )
    if pinned:
        pinned_ratio = statistics.median(
            p.rps / a.rps
            for p, a in zip(pinned["static via nginx + auth_request"], pinned["authorize endpoint"], strict=True)
            if a.rps
        )
        lines.append(
            "Target 7, envkeys on a core of its own (gunicorn on one core, nginx and wrk on the other, in both cases): "
            f"{statistics.median(r.rps for r in pinned['static via nginx + auth_request']):.0f} / "
            f"{statistics.median(r.rps for r in pinned['authorize endpoint']):.0f} req/s = {pinned_ratio:.2f}; "
            f">= 0.90: {verdict(pinned_ratio >= 0.90)}"
        )
    return lines


def measure_memory(options, workdir: Path, database: Path, keys: list[dict], servers: list) -> tuple:
    """Return (RSS after 1,000 requests, RSS after all, requests, keys) for one worker, in MB.

    The first 1,000 requests (1,000 different keys) are counted exactly by the Python client;
    the rest come from wrk in bounded slices, cycling through all the keys, until the total is
    reached.
    """
    keys = keys[: options.memory_keys]
    lines = [
        (ENDPOINTS["detail"][1].format(id=key["environment_id"]), basic(key["access_key"], key["secret_key"]))
        for key in keys
    ]
    server = Server(
        name="memory", port=options.port + 3, database=database, workdir=workdir, access_control=True, workers=1
    ).start()
    servers.append(server)
    (pid,) = server.worker_pids()
    log(f"Memory: worker {pid} starts at {rss_mb(pid):.1f} MB")
    first = python_load(port=server.port, lines=lines[:1000], duration=120, connections=4, max_requests=1000)
    after_first = rss_mb(pid)
    log(f"Memory: {first.requests} requests, RSS {after_first:.1f} MB")
    all_file = write_requests_file(workdir / "memory-all.txt", lines)
    total, errors, rate = first.requests, first.errors, max(first.rps, 100.0)
    deadline = time.monotonic() + 480
    while total < options.memory_requests and time.monotonic() < deadline:
        seconds = min(30.0, max(1.0, (options.memory_requests - total) / rate))
        result = run_load(
            port=server.port, requests_file=all_file, lines=lines, duration=seconds, connections=4, threads=1
        )
        total, errors, rate = total + result.requests, errors + result.errors, max(result.rps, 100.0)
        log(f"Memory: {total} requests ({result.rps:.0f} req/s), RSS {rss_mb(pid):.1f} MB")
    if server.worker_pids() != [pid]:
        raise SystemExit("The worker was replaced during the memory phase; the measurement is void.")
    after_all = rss_mb(pid)
    if errors:
        log(f"Memory: {errors} socket errors")
    server.stop()
    servers.remove(server)
    return after_first, after_all, total, len(keys)


if __name__ == "__main__":
    sys.exit(main())
