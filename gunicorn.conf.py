"""gunicorn's settings for the portal, read from the working directory by ``gunicorn wsgi:app``.

Workers, threads and the bind address are the command line's to choose (see README: Deploying).
"""


def post_worker_init(worker):
    """Start loading the worker's suppression index as it boots, not on its first lookup."""
    from flask import Flask

    app = worker.wsgi
    if isinstance(app, Flask) and app.import_name == "portal" and app.config.get("PORTAL_WARM_INDEX", True):
        from portal.suppression.cache import warm

        warm(app, worker.log)
