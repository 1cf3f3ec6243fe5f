"""The feed's write lock is held for the commit only: writers do not wait in line for each other's
whole transaction, and the feed still carries its rows in commit order (PostgreSQL)."""
import threading

import pytest
from sqlalchemy import select, text

from portal.extensions import db
from portal.suppression import operations
from portal.suppression.models import Suppression, SuppressionChange


@pytest.fixture
def postgresql(backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time; the lock is PostgreSQL's")


def in_thread(app, work):
    """Run ``work`` in its own app context (its own session and connection), committing; the thread."""
    outcome: dict = {}

    def run():
        with app.app_context():
            try:
                outcome["value"] = work()
                db.session.commit()
            except Exception as error:  # noqa: BLE001  (asserted by the test)
                outcome["error"] = error
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def feed():
    return [(change.op, change.email_hash) for change in
            db.session.scalars(select(SuppressionChange).order_by(SuppressionChange.seq))]


def test_a_writer_commits_while_another_holds_its_transaction_open(app, postgresql, create_account):
    account_id = create_account().id
    db.session.commit()
    first = operations.add("first@example.org", scope="account", reason="manual", account_id=account_id)
    # The first writer's transaction stays open (its feed row written, provisional). The second
    # writer must not wait for it: before, it queued on the feed lock until the first committed.
    thread, outcome = in_thread(app, lambda: operations.add("second@example.org", scope="account", reason="manual",
                                                            account_id=account_id).email_hash)
    thread.join(timeout=60)
    assert not thread.is_alive() and "error" not in outcome
    db.session.commit()
    # Commit order: the second writer's row first, though the first wrote its row before; the
    # numbers are given at the commits only, so the feed has no gap of the renumbering's making.
    assert feed() == [("add", outcome["value"]), ("add", first.email_hash)]
    seqs = db.session.scalars(select(SuppressionChange.seq).order_by(SuppressionChange.seq)).all()
    assert seqs[1] == seqs[0] + 1


def test_a_reader_never_sees_a_row_appear_below_what_it_has_read(app, postgresql, create_account):
    account_id = create_account().id
    db.session.commit()
    operations.add("early@example.org", scope="account", reason="manual", account_id=account_id)
    thread, _ = in_thread(app, lambda: operations.add("late@example.org", scope="account", reason="manual",
                                                      account_id=account_id))
    thread.join(timeout=60)
    with db.engine.connect() as reader:  # a follower of the feed, between the two commits
        seen = reader.scalar(text("SELECT max(seq) FROM suppression_changes"))
    db.session.commit()
    with db.engine.connect() as reader:
        below = reader.scalar(text("SELECT count(*) FROM suppression_changes WHERE seq <= :seen"), {"seen": seen})
        total = reader.scalar(text("SELECT count(*) FROM suppression_changes"))
    assert (below, total) == (1, 2)


def test_a_bulk_add_beside_a_single_add_of_the_same_address_skips_it(app, postgresql, create_account):
    account_id = create_account().id
    db.session.commit()
    single = operations.add("both@example.org", scope="account", reason="manual", account_id=account_id)
    thread, outcome = in_thread(app, lambda: operations.add_many(
        [("both@example.org", "manual", None), ("bulk@example.org", "manual", None)], account_id=account_id))
    # The bulk add waits on the single add's uncommitted entry (its unique key), not on a lock
    # the single add would need at its commit: no deadlock, and the address is added once.
    with db.engine.connect() as watcher:
        for _ in range(600):
            if watcher.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()")):
                break
            threading.Event().wait(0.05)
    db.session.commit()
    thread.join(timeout=60)
    assert not thread.is_alive() and "error" not in outcome
    assert outcome["value"] == (1, 1)
    hashes = db.session.scalars(select(Suppression.email_hash)).all()
    assert sorted(hashes) == sorted({single.email_hash, *[h for _op, h in feed()]})
    assert len(feed()) == 2 and len(hashes) == 2


def test_a_rolled_back_writer_leaves_no_row_and_nothing_to_number(app, postgresql, create_account):
    account_id = create_account().id
    db.session.commit()
    operations.add("gone@example.org", scope="account", reason="manual", account_id=account_id)
    db.session.rollback()
    assert operations.PROVISIONAL not in db.session.info
    operations.add("kept@example.org", scope="account", reason="manual", account_id=account_id)
    db.session.commit()
    assert len(feed()) == 1
