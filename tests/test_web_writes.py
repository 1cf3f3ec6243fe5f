"""``portal.web.writes``: a page's form handler commits once, after it answered below 400 (issue 15).

Each case runs a handler that adds an account (flushed, as operations do) inside a request of the
test's app on the real database, then rolls back what was not committed and counts the rows.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.accounts.operations import create_account
from portal.extensions import db as _db
from portal.web import writes


def _accounts() -> int:
    _db.session.rollback()  # what the handler did not commit is gone
    return _db.session.scalar(select(func.count()).select_from(Account))


def _adding(answer):
    def handler():
        create_account(name="Toko", postal_address="Jl. Braga 5, Bandung", contact_email="owner@toko.example")
        return answer
    return handler


@pytest.mark.parametrize("answer, kept", [("done", 1), (("moved", 303), 1), (("refused", 422), 0), (("bad", 400), 0)])
def test_a_post_is_kept_only_when_it_succeeded(app, db, answer, kept):
    with app.test_request_context(method="POST"):
        assert writes()(_adding(answer))() == answer
        assert _accounts() == kept


def test_a_get_keeps_nothing_and_a_raising_handler_keeps_nothing(app, db):
    with app.test_request_context(method="GET"):
        writes()(_adding("page"))()
        assert _accounts() == 0

    def refusing():
        _adding("never")()
        raise ValueError("refused")

    with app.test_request_context(method="POST"):
        with pytest.raises(ValueError):
            writes()(refusing)()
        assert _accounts() == 0


def test_the_answer_waits_for_its_minimum_time_after_the_commit(app, db):
    app.config["PORTAL_SIGNUP_MIN_SECONDS"] = 0.2
    with app.test_request_context(method="POST"):
        started = time.monotonic()
        writes(min_seconds="PORTAL_SIGNUP_MIN_SECONDS")(_adding("done"))()
        assert time.monotonic() - started >= 0.2
        assert _accounts() == 1
