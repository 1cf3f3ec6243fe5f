"""The shared compact index: its size, its sharing between apps, and exactness through every change."""
import os
import random
import shutil

import numpy as np
import pytest

from portal.addresses import email_hash, try_normalise
from portal.extensions import db as _db
from portal.privacy.operations import erase_contact
from portal.suppression import compact, operations
from portal.suppression.api import index_entry
from portal.suppression.cache import SuppressionIndex, index
from tests import factories
from tests.conftest import create_pg_database, drop_pg_database, make_app, migrate


def slow(emails, account_id):
    """The answer of the table itself, in the index's shape: (position, [entry dict...])."""
    hashes = [email_hash(n) if (n := try_normalise(e)) else None for e in emails]
    found = operations.entries_for_hashes([h for h in hashes if h], account_id)
    answer = []
    for position, hashed in enumerate(hashes):
        entries = found.get(hashed)
        if entries:
            answer.append((position, sorted((e.scope, e.list_id, e.reason, e.created_at.isoformat()[:26])
                                            for e in entries)))
    return answer


def fast(emails, account_id, which=None):
    answer = (which or index()).check(emails, account_id)
    return [(position, sorted((d["scope"], d["list_id"], d["reason"], d["created_at"].replace("Z", "")[:26])
                              for d in map(index_entry, entries))) for position, entries in answer]


@pytest.fixture
def other(second_app):
    """A second app on the test's database: another worker of the same machine."""
    return second_app()


def test_an_entry_takes_at_most_40_bytes(app, db, create_account, tmp_path):
    app.config["PORTAL_SUPPRESSION_INDEX_DIR"] = str(tmp_path / "own")  # built here, not found from before
    account = create_account()
    operations.add_many([(f"a{n}@x.org", "manual", None) for n in range(3000)], account_id=account.id)
    db.session.commit()
    generation = index().generation
    files = [os.path.join(app.config["PORTAL_SUPPRESSION_INDEX_DIR"], generation.name + ext)
             for ext in (".keys", ".rest")]
    assert generation.count == 3000
    assert sum(os.path.getsize(f) for f in files) / 3000 == compact.ENTRY_BYTES <= 40
    keys = np.fromfile(files[0], dtype="<u8")
    assert (np.diff(keys.astype(np.float64)) >= 0).all()  # sorted


def test_a_second_app_maps_the_same_generation_and_sees_the_firsts_writes_at_once(app, db, other, create_account):
    account_id = create_account().id
    operations.add("base@x.org", scope="account", reason="manual", account_id=account_id)
    db.session.commit()
    first = index()
    with other.app_context():
        second = index()
        assert second.generation.name == first.generation.name  # built once, mapped by both
        operations.add("new@x.org", scope="global", reason="complaint")
        operations.remove(operations.find("base@x.org", scope="account", account_id=account_id), note="lifted")
        _db.session.commit()
    assert fast(["base@x.org", "new@x.org"], account_id) == [(1, [("global", None, "complaint", _at("new@x.org"))])]
    with other.app_context():
        operations.add("base@x.org", scope="account", reason="hard_bounce", account_id=account_id)
        _db.session.commit()
    [(position, [(scope, _list, reason, _when)])] = fast(["BASE@x.org"], account_id)
    assert (position, scope, reason) == (0, "account", "hard_bounce")  # re-added after its removal: the newest state


def _at(email):
    return operations.find(email, scope="global").created_at.isoformat()[:26]


def test_an_erased_address_stays_suppressed(app, db, create_account):
    account = create_account()
    contact = factories.create_contact(account, "gone@x.org")
    db.session.commit()
    assert index().check(["gone@x.org"], account.id) == []
    erase_contact(contact)
    db.session.commit()
    [(position, [entry])] = index().check(["gone@x.org"], account.id)
    assert position == 0 and index_entry(entry)["reason"] == "erased"


def _random_changes(rng, accounts, lists, emails, count):
    for _ in range(count):
        email = rng.choice(emails)
        account = rng.choice(accounts)
        scope = rng.choice(["global", "account", "list"])
        list_id = rng.choice(lists[account.id]).id if scope == "list" else None
        existing = operations.find(email, scope=scope, account_id=account.id, list_id=list_id)
        if existing is not None and rng.random() < 0.6:
            operations.remove(existing, note="differential")
        else:
            operations.add(email, scope=scope, reason=rng.choice(["manual", "complaint", "hard_bounce"]),
                           account_id=account.id, list_id=list_id)


def test_base_delta_and_merges_answer_as_the_table_does(app, db, other):
    rng = random.Random(21)
    accounts = [factories.create_account() for _ in range(3)]
    lists = {a.id: [factories.create_list(a) for _ in range(2)] for a in accounts}
    db.session.commit()
    ids = [a.id for a in accounts]
    emails = [f"p{n}@d{n % 7}.org" for n in range(60)]
    probes = emails + ["P3@D3.ORG", " p4@d4.org ", "never@x.org", "bad address", "ünï@x.org"]
    _random_changes(rng, accounts, lists, emails, 120)
    db.session.commit()
    mine = index()
    built = mine.generation.name
    for round_ in range(4):
        _random_changes(rng, accounts, lists, emails, 80)  # the delta
        db.session.commit()
        for account in accounts:
            assert fast(probes, account.id) == slow(probes, account.id)
            assert fast(probes[:3], account.id) == slow(probes[:3], account.id)  # the one-by-one search
        mine.merge_entries = 1
        assert mine.maintain() == "merged"
        assert mine.generation.name != built and not mine.delta
        for account in accounts:
            assert fast(probes, account.id) == slow(probes, account.id)
        with other.app_context():
            follower = index()
            follower.maintain()
            assert follower.generation.name == mine.generation.name
            answers = [fast(probes, account_id, follower) for account_id in ids]
        assert answers == [slow(probes, account_id) for account_id in ids]


@pytest.fixture
def second_database(database, tmp_path):
    """Another migrated database of the test's backend (a file copy, or a new PostgreSQL database): its URL."""
    if database.backend == "sqlite":
        copy = tmp_path / "second.sqlite3"
        shutil.copyfile(database.template, copy)
        yield f"sqlite:///{copy}"
        return
    name, url = create_pg_database("portal_t2")
    try:
        migrate(url)
        yield url
    finally:
        drop_pg_database(name)


def test_a_generation_of_another_database_is_never_used(app, db, create_account, second_database):
    account = create_account()
    operations.add("only-here@x.org", scope="global", reason="manual")
    db.session.commit()
    first = index().generation
    second = make_app(second_database, PORTAL_SUPPRESSION_INDEX_DIR=app.config["PORTAL_SUPPRESSION_INDEX_DIR"])
    with second.app_context():
        other_account = factories.create_account()
        operations.add("only-there@x.org", scope="global", reason="manual")
        _db.session.commit()
        theirs = index()
        assert theirs.generation.name != first.name  # the fingerprint differs: rebuilt
        assert [p for p, _e in theirs.check(["only-here@x.org", "only-there@x.org"], other_account.id)] == [1]
        _db.session.remove()  # reading other_account.id began a transaction: end it before the pool goes
        _db.engine.dispose()
    assert index().maintain() is None  # theirs is now current in the directory: never adopted here
    assert index().generation.name == first.name
    assert [p for p, _e in index().check(["only-here@x.org", "only-there@x.org"], account.id)] == [0]


def test_a_large_build_sorts_in_buckets(app, db, create_account, monkeypatch, tmp_path):
    app.config["PORTAL_SUPPRESSION_INDEX_DIR"] = str(tmp_path / "own")
    monkeypatch.setattr(compact, "SORT_IN_MEMORY", 100)
    monkeypatch.setattr("portal.suppression.cache.BUILD_CHUNK", 64)
    account = create_account()
    emails = [f"b{n}@x.org" for n in range(1500)]
    operations.add_many([(e, "manual", None) for e in emails], account_id=account.id)
    db.session.commit()
    built = index()
    assert built.generation.count == 1500
    assert (np.diff(built.generation.keys.astype(np.float64)) >= 0).all()
    probes = emails[::7] + ["no@x.org"]
    assert fast(probes, account.id) == slow(probes, account.id)
    assert not [p for p in os.listdir(app.config["PORTAL_SUPPRESSION_INDEX_DIR"]) if p.startswith("buckets-")]


def test_workers_merge_in_the_background(db, database, tmp_path, create_account):
    url = database.url
    if database.backend == "sqlite":
        shutil.copyfile(database.template, tmp_path / "bg.sqlite3")
        url = f"sqlite:///{tmp_path / 'bg.sqlite3'}"
    background = make_app(url, PORTAL_SUPPRESSION_INDEX_MERGE_SECONDS=0.01, PORTAL_SUPPRESSION_INDEX_MERGE_ENTRIES=2,
                          PORTAL_SUPPRESSION_INDEX_DIR=str(tmp_path / "bg-index"))
    with background.app_context():
        account = factories.create_account()
        _db.session.commit()
        account_id = account.id
        first = index().generation.name
        operations.add_many([(f"m{n}@x.org", "manual", None) for n in range(5)], account_id=account_id)
        _db.session.commit()
        import time

        deadline = time.monotonic() + 20
        while index().generation.name == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert index().generation.name != first and index().generation.count == 5
        assert [p for p, _e in index().check(["m0@x.org", "m4@x.org", "x@x.org"], account_id)] == [0, 1]
        with index()._maintaining:  # the last round has ended
            _db.engine.dispose()
