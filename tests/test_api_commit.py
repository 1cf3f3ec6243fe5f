"""The API route commits once, after a successful handler of any method but GET (issue 15)."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from portal.extensions import db as _db
from portal.suppression.models import Suppression


@pytest.fixture
def commits(app):
    """The COMMITs the database was sent (savepoints are not commits), counted as they happen."""
    counted = []

    def count(_connection):
        counted.append(1)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "commit", count)
    yield counted
    event.remove(engine, "commit", count)


def test_a_write_is_committed_once_by_the_route(client, db, commits, create_account, platform_auth):
    account = create_account()
    db.session.commit()
    commits.clear()
    answer = client.put(f"/api/v1/accounts/{account.id}/suppressions/ann@example.org", json={"reason": "manual"},
                        headers=platform_auth)
    assert answer.status_code == 200 and len(commits) == 1
    db.session.rollback()
    assert db.session.query(Suppression).filter_by(account_id=account.id).count() == 1  # it is in the database


def test_a_refusal_commits_nothing(client, db, commits, create_account, platform_auth):
    account = create_account()
    db.session.commit()
    commits.clear()
    refused = client.put(f"/api/v1/accounts/{account.id}/suppressions/ann@example.org",
                         json={"reason": "manual", "list_id": "no-such-list"}, headers=platform_auth)
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    assert commits == []
    assert db.session.query(Suppression).filter_by(account_id=account.id).count() == 0


def test_a_read_commits_nothing(client, db, commits, create_account, platform_auth):
    account = create_account()
    db.session.commit()
    commits.clear()
    assert client.get(f"/api/v1/accounts/{account.id}/suppressions", headers=platform_auth).status_code == 200
    assert commits == []
