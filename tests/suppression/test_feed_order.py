"""The changes feed under concurrent writers: a reader that follows it holds an exact copy (H-3)."""
import random
import threading
import time

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.suppression import operations
from portal.suppression.models import Suppression, SuppressionChange, scope_key

WRITERS = 6
ROUNDS = 25


def _writer(app, account_id, seed, errors, add_only):
    rng = random.Random(seed)
    with app.app_context():
        try:
            for round in range(ROUNDS):
                email = f"w{seed}-{round}@x.org" if add_only else f"w{rng.randrange(30)}@x.org"
                entry = operations.find(email, scope="account", account_id=account_id)
                if entry is None:
                    operations.add(email, scope="account", reason="manual", account_id=account_id)
                else:
                    operations.remove(entry, note="test")
                time.sleep(rng.random() / 200)  # hold the transaction open after the feed insert
                db.session.commit()
        except Exception as error:  # noqa: BLE001  (reported by the test)
            errors.append(error)
        finally:
            db.session.remove()


def _follow(copy: dict, after: int) -> int:
    rows = db.session.scalars(select(SuppressionChange).where(SuppressionChange.seq > after)
                              .order_by(SuppressionChange.seq)).all()
    for change in rows:
        key = (change.email_hash, scope_key(change.scope, change.account_id, change.list_id))
        if change.op == "add":
            copy[key] = change.reason
        else:
            copy.pop(key, None)
        after = change.seq
    db.session.commit()  # a fresh snapshot for the next read
    return after


@pytest.mark.parametrize("add_only", [True, False], ids=["adds", "adds_and_removes"])
def test_reader_following_the_feed_holds_an_exact_copy(app, backend, create_account, add_only):
    if backend != "postgresql":
        pytest.skip("SQLite has a single writer; the race needs PostgreSQL")
    account_id = create_account().id
    errors: list = []
    threads = [threading.Thread(target=_writer, args=(app, account_id, seed, errors, add_only)) for seed in range(WRITERS)]
    for thread in threads:
        thread.start()
    copy: dict = {}
    cursor = 0
    while any(thread.is_alive() for thread in threads):
        cursor = _follow(copy, cursor)
    for thread in threads:
        thread.join()
    cursor = _follow(copy, cursor)
    assert errors == []
    table = {(s.email_hash, s.scope_key): s.reason for s in db.session.scalars(select(Suppression))}
    assert table and copy == table
