"""The loop of a long-running worker (``outbox work``, ``imports work``, ``ledger seal --every``):
one pass, then a pause while idle, until it is told to stop; a database error waits for the next pass."""
from __future__ import annotations

import time
from typing import Callable

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db


def wait(stop: Callable[[], bool], seconds: float) -> None:
    """Sleep ``seconds``, waking every 0.2 s to return as soon as ``stop()`` is true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop():
        time.sleep(min(0.2, seconds))


def run_until_stopped(name: str, one_pass: Callable[[], bool], stop: Callable[[], bool],
                      poll_seconds: float) -> None:
    """Run ``one_pass()`` (true: it found work) until ``stop()``; idle, release the connection and
    wait ``poll_seconds``. A database error (the server restarted, the connection was killed) is
    logged and the pass is tried again after the pause: nothing is lost, a claim waits for its lease."""
    while not stop():
        try:
            busy = one_pass()
        except SQLAlchemyError as error:
            current_app.logger.warning("%s: database error, retrying: %s", name, error)
            db.session.rollback()
            busy = False
        if not busy:
            db.session.remove()
            wait(stop, poll_seconds)
