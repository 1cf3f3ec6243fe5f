"""``flask demo --serve`` (what ``make run`` runs): werkzeug's development server, quiet.

The block of URLs is printed once the socket listens, so every URL in it answers at once and
it stays the last thing printed before the request log (``flask run`` would follow it with its
banner and its warnings).
"""
from __future__ import annotations

from typing import Callable

from flask import Flask


def serve(app: Flask, host: str, port: int, announce: Callable[[], None]) -> None:
    """Listen on ``host``:``port``, call ``announce``, then serve ``app`` (threaded) until interrupted."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)  # bound and listening from here
    announce()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
