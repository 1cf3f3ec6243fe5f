"""gunicorn's settings for the portal, read from the working directory by ``gunicorn wsgi:app``.

Production defaults, from the environment through portal/config.py (``PORTAL_WORKERS``,
``PORTAL_THREADS``, ``PORTAL_REQUEST_TIMEOUT_SECONDS``); the command line still overrides them
(``-w``, ``--threads``, ``-b``). gunicorn is meant to sit behind a buffering reverse proxy (nginx,
see README: Deploying): the proxy, not gunicorn, is what keeps slow clients off the workers.
"""
import os
import shutil
import socket
import struct
import tempfile

from portal.config import Config, several_workers_warning

#: Link tokens masked in the access log; JSON lines with PORTAL_LOG_FORMAT=json (portal/logs.py).
logger_class = "portal.logs.GunicornLogger"

# /metrics counts every worker's requests (prometheus-client's multiprocess mode, portal/metrics.py):
# the workers share a directory, a fresh one per server unless PROMETHEUS_MULTIPROC_DIR names one.
_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")

#: Threads in each worker: a thread waiting on the database or on a slow client does not hold
#: the worker's other requests (the sync worker would).
worker_class = "gthread"
workers = Config.PORTAL_WORKERS
threads = Config.PORTAL_THREADS
#: A worker silent this long is killed and replaced; stopping waits as long for requests in flight.
timeout = Config.PORTAL_REQUEST_TIMEOUT_SECONDS
graceful_timeout = Config.PORTAL_REQUEST_TIMEOUT_SECONDS
#: Seconds an idle kept-alive connection stays open (the proxy in front reuses them).
keepalive = 5
#: Request line and headers: gunicorn's defaults, stated (a 413/431-sized header is refused by
#: gunicorn before the app sees it).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def when_ready(server):
    """Bound every read from a client; warn when rate limits live in each worker's memory."""
    _bound_reads(server)
    warning = several_workers_warning(Config.RATELIMIT_STORAGE_URI, server.cfg.workers)
    if warning:
        server.log.warning("configuration: %s", warning)


def _bound_reads(server):
    """``SO_RCVTIMEO`` on the listening sockets, which every accepted connection inherits (Linux).

    A client that stalls in its headers or body then holds a worker thread for at most
    ``PORTAL_READ_TIMEOUT_SECONDS`` between two packets, not until it goes away: the thread's
    read fails and gunicorn closes the connection. Idle kept-alive connections wait in the
    worker's poller, not in a thread, and are not affected.
    """
    seconds = Config.PORTAL_READ_TIMEOUT_SECONDS
    timeval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))
    for listener in server.LISTENERS:
        if listener.sock.family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
            listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)


def post_worker_init(worker):
    """Start loading the worker's suppression index as it boots, not on its first lookup."""
    from flask import Flask

    app = worker.wsgi
    if isinstance(app, Flask) and app.import_name == "portal" and app.config.get("PORTAL_WARM_INDEX", True):
        from portal.suppression.cache import warm

        warm(app, worker.log)


def child_exit(server, worker):
    """Let the metrics forget a dead worker's live gauges (its counts stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this server made."""
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
