"""gunicorn's settings for the portal, read from the working directory by ``gunicorn wsgi:app``.

Workers, threads and the bind address are the command line's to choose (see README: Deploying).
"""
import os
import shutil
import tempfile

#: Link tokens masked in the access log; JSON lines with PORTAL_LOG_FORMAT=json (portal/logs.py).
logger_class = "portal.logs.GunicornLogger"

# /metrics counts every worker's requests (prometheus-client's multiprocess mode, portal/metrics.py):
# the workers share a directory, a fresh one per server unless PROMETHEUS_MULTIPROC_DIR names one.
_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")


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
