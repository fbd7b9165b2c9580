"""gunicorn settings for envkeys: metrics shared by all workers (``gunicorn -c python:config.gunicorn config.wsgi``).

prometheus_client's multiprocess mode needs ``PROMETHEUS_MULTIPROC_DIR``: a directory where each
worker writes its values, read by whichever worker answers /metrics. This file makes one when the
variable is not set (a fresh temporary directory, removed when gunicorn exits), empties it when
gunicorn starts (values left by an earlier run would be added to this run's), and tells the
library when a worker exits (``mark_process_dead``). Everything else is left to gunicorn's
command line and its ``GUNICORN_CMD_ARGS``.
"""

import os
import shutil
import tempfile
from pathlib import Path

import environ

# The same .env file as config/settings.py (variables already in the environment win).
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env")

_made_here = False
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="envkeys-metrics-")
    _made_here = True
# It must exist before prometheus_client makes a metric (the JSON log formatter below imports them).
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# Only now: prometheus_client chooses between per-process and shared values when it is first
# imported, from PROMETHEUS_MULTIPROC_DIR, and the workers inherit the master's modules.
from prometheus_client import multiprocess  # noqa: E402


def on_starting(server):
    """Empty the metrics directory: counts from an earlier run must not be added to this one's."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink()


def child_exit(server, worker):
    """Tell prometheus_client that a worker has gone (its live gauges are dropped)."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory if this file made it."""
    if _made_here:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# gunicorn 25 and later open a control socket at one path per user: two servers on one machine
# would share it. envkeys does not use it (older gunicorns ignore the name).
control_socket_disable = True

# With LOG_FORMAT=json, gunicorn's own lines (start, stop, worker timeouts, its access log if
# turned on) are JSON objects too, in envkeys' format: the log is one JSON object per line throughout.
if os.environ.get("LOG_FORMAT") == "json":
    _handler = {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request"]}
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "common.requestlog.JsonFormatter"}},
        "filters": {"request": {"()": "common.requestlog.RequestContextFilter"}},
        "handlers": {
            "console": {**_handler, "stream": "ext://sys.stdout"},
            "error_console": {**_handler, "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
