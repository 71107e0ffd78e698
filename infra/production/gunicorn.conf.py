"""Gunicorn configuration for the Tessera web process.

Values come from the environment so one file serves local runs and containers.
Threads are the unit of concurrency: tenant connections are budgeted per
process (TENANT_CONNECTIONS_MAX), so fewer processes with several threads keep
server connection counts low.
"""

import contextlib
import glob
import multiprocessing
import os
import resource
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# A recycled worker loses its client connections to the pooler and its tenant cache: its next visit
# of each hot tenant pays a pooler login (about 4 ms of CPU for libpq's SCRAM) and the tenant
# lookup. At 1,000 hot tenants that is 2,000 logins per worker life, so recycle rarely.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "10000"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Access log lines carry the request id our middleware echoes back.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s'

# A worker keeps a client connection to the pooler per hot tenant and kind (TENANT_CLIENT_CONNECTIONS_MAX,
# 2,200 by default): the soft limit of open files is raised to the hard one (often 1,024 -> 1,048,576).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _hard != resource.RLIM_INFINITY and _soft < _hard:
    with contextlib.suppress(ValueError, OSError):  # refused (a container): run with what was given
        resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))

# --- Metrics (docs/observability.md) ----------------------------------------------
# Every worker writes its samples under PROMETHEUS_MULTIPROC_DIR; the settings use the
# same default. Set here, in the master, so every worker inherits one directory.
# prometheus_client is never imported in the master: it picks its mode at import,
# and workers forked from the master would inherit that choice.
METRICS_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                    str(Path(__file__).resolve().parents[2] / ".local" / "metrics"))


def on_starting(server: object) -> None:
    """Create the metrics directory and delete the files of processes that are gone.

    Files are `<kind>_<pid>.db`: a dead process's would be summed forever, or
    reused by a new process with its pid. Files of live processes stay (a Celery
    worker started first shares the directory, in the same pid namespace).
    """
    os.makedirs(METRICS_DIR, exist_ok=True)
    for path in Path(METRICS_DIR).glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if not pid.isdigit() or not os.path.exists(f"/proc/{pid}"):  # Linux: the containers' and local runs' OS
            path.unlink(missing_ok=True)


def child_exit(server: object, worker: object) -> None:
    """Forget a dead worker's per-process gauges (what prometheus_client's mark_process_dead does)."""
    for path in glob.glob(os.path.join(METRICS_DIR, f"gauge_live*_{worker.pid}.db")):  # type: ignore[attr-defined]
        os.remove(path)
