"""The shared index's files: damaged generations, durable writes, failed builds, racing builders, one directory per database."""
import logging
import multiprocessing
import os
from contextlib import closing

import pytest

from portal.extensions import db as _db
from portal.suppression import compact, operations
from portal.suppression.cache import SuppressionIndex, index, index_directory
from tests.conftest import make_app


def _built(app, db, create_account, count=50):
    """An account with ``count`` suppressions and the index built over them: (account id, directory, generation)."""
    account = create_account()
    operations.add_many([(f"d{n}@x.org", "manual", None) for n in range(count)], account_id=account.id)
    db.session.commit()
    generation = index().generation
    return account.id, app.config["PORTAL_SUPPRESSION_INDEX_DIR"], generation


def _fresh_app(app):
    """Another worker starting on the same database and directory."""
    return make_app(app.config["SQLALCHEMY_DATABASE_URI"],
                    PORTAL_SUPPRESSION_INDEX_DIR=app.config["PORTAL_SUPPRESSION_INDEX_DIR"])


def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)


def _flip(path, at=None):
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) // 2 if at is None else at)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))


def _bad_json(path):
    with open(path, "w") as handle:
        handle.write('{"format": 2, "count": ')


DAMAGE = {
    "keys truncated": (".keys", _truncate),
    "rest truncated": (".rest", _truncate),
    "a flipped byte in keys": (".keys", _flip),
    "a flipped byte in rest": (".rest", _flip),
    "a torn description": (".json", _bad_json),
    "rest missing": (".rest", os.unlink),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_generation_is_logged_and_rebuilt_never_used(app, db, create_account, caplog, damage):
    app.config["PORTAL_SUPPRESSION_INDEX_DIR"] = str(app.config["PORTAL_SUPPRESSION_INDEX_DIR"]) + "-" + \
        damage.replace(" ", "-")
    account_id, directory, generation = _built(app, db, create_account)
    ext, harm = DAMAGE[damage]
    harm(os.path.join(directory, generation.name + ext))
    starting = _fresh_app(app)
    with starting.app_context(), caplog.at_level(logging.WARNING):
        for _ in range(2):  # the first answer, and every one after it
            found = index().check(["d1@x.org", "d49@x.org", "no@x.org"], account_id)
            assert [position for position, _entries in found] == [0, 1]
        rebuilt = index().generation
        _db.engine.dispose()
    assert rebuilt.name != generation.name and rebuilt.count == 50
    assert compact.current(directory) == rebuilt.name
    assert not [entry for entry in os.listdir(directory) if entry.startswith(generation.name)]  # replaced
    assert any("suppression index" in record.getMessage() and "building a new one" in record.getMessage()
               for record in caplog.records)


def test_a_running_worker_replaces_a_damaged_current_generation(app, db, create_account, caplog):
    account_id, directory, generation = _built(app, db, create_account)
    mine = index()
    # Another process published a generation that is damaged on disk (a crash, a bad disk).
    copy = compact.write(directory, [], seq=generation.seq, fingerprint=generation.fingerprint,
                         strings=generation.strings)
    compact.publish(directory, copy)
    for ext in (".keys", ".rest"):
        open(os.path.join(directory, copy + ext), "wb").close()
    _bad_json(os.path.join(directory, copy + ".json"))
    with caplog.at_level(logging.WARNING):
        assert mine.maintain() == "repaired"
    assert compact.current(directory) == mine.generation.name != copy
    assert any("writing a new one" in record.getMessage() for record in caplog.records)
    assert [p for p, _e in index().check(["d3@x.org", "no@x.org"], account_id)] == [0]
    starting = _fresh_app(app)
    with starting.app_context():
        assert index().generation.name == mine.generation.name  # the next worker maps the repaired one
        _db.engine.dispose()


def test_a_large_generation_is_checked_by_sampled_blocks(app, db, create_account, monkeypatch):
    monkeypatch.setattr(compact, "VERIFY_WHOLE", 64)
    monkeypatch.setattr(compact, "SAMPLE_BYTES", 16)
    _account_id, directory, generation = _built(app, db, create_account, count=400)
    assert compact.Generation(directory, generation.name).count == 400  # whole: opens
    _flip(os.path.join(directory, generation.name + ".rest"), at=os.path.getsize(
        os.path.join(directory, generation.name + ".rest")) - 1)  # in the last block, always sampled
    with pytest.raises(compact.DamagedGeneration, match="checksum"):
        compact.Generation(directory, generation.name)


def test_every_file_reaches_the_disk_before_it_gets_its_name(app, db, create_account, monkeypatch, tmp_path):
    app.config["PORTAL_SUPPRESSION_INDEX_DIR"] = str(tmp_path / "durable")
    synced, renamed = [], []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    def replace(source, target):
        renamed.append((source, len(synced), target))
        real_replace(source, target)

    monkeypatch.setattr(compact.os, "fsync", fsync)
    monkeypatch.setattr(compact.os, "replace", replace)
    _built(app, db, create_account)
    directory = str(tmp_path / "durable")
    names = {os.path.basename(target) for _source, _at, target in renamed}
    assert "current" in names and {n.rsplit(".", 1)[1] for n in names if "." in n} == {"keys", "rest", "json"}
    for source, synced_before, target in renamed:
        assert source in synced[:synced_before], f"{target} renamed before its data was synced"
        assert directory in synced[synced_before:], f"the directory not synced after renaming {target}"


def test_a_failed_build_leaves_no_temporary_files_and_the_next_one_cleans_a_dead_writers(
        app, db, create_account, monkeypatch, tmp_path):
    directory = str(tmp_path / "failing")
    app.config["PORTAL_SUPPRESSION_INDEX_DIR"] = directory
    monkeypatch.setattr(compact, "SORT_IN_MEMORY", 100)  # a bucketed sort: scratch files too
    monkeypatch.setattr("portal.suppression.cache.BUILD_CHUNK", 64)
    account = create_account()
    operations.add_many([(f"f{n}@x.org", "manual", None) for n in range(600)], account_id=account.id)
    db.session.commit()
    chunks = SuppressionIndex._table_chunks

    def failing(connection, strings):
        source = chunks(connection, strings)
        with closing(source):
            for number, chunk in enumerate(source):
                if number == 5:
                    raise OSError(28, "No space left on device")
                yield chunk

    monkeypatch.setattr(SuppressionIndex, "_table_chunks", staticmethod(failing))
    with pytest.raises(OSError, match="No space left"):
        index()
    assert sorted(os.listdir(directory)) == ["lock"]
    # A writer killed mid-write leaves files no exception handler removed.
    for stale in ("000000000000001-deadbeef.keys.tmp", "000000000000001-deadbeef.rest.tmp",
                  "000000000000001-deadbeef.keys"):
        open(os.path.join(directory, stale), "wb").close()
    os.mkdir(os.path.join(directory, "buckets-dead"))
    monkeypatch.setattr(SuppressionIndex, "_table_chunks", staticmethod(chunks))
    built = index().generation
    assert built.count == 600
    assert sorted(os.listdir(directory)) == sorted(["lock", "current"] + [built.name + ext for ext in
                                                                           (".keys", ".rest", ".json")])


def _race(url, directory, builds, start, account_id, answers):
    """One worker process: wait for the other, load the index (slowly, if it builds), report what it mapped."""
    original = SuppressionIndex._build

    def build(self):
        with open(builds, "a") as out:
            out.write(f"{os.getpid()}\n")
        import time

        time.sleep(0.5)  # a wide window for the other process to build too, were the lock not there
        return original(self)

    SuppressionIndex._build = build
    app = make_app(url, PORTAL_SUPPRESSION_INDEX_DIR=directory)
    with app.app_context():
        start.wait(timeout=60)
        found = [position for position, _entries in index().check(["r1@x.org", "no@x.org", "r7@x.org"], account_id)]
        answers.put((index().generation.name, found))
        _db.engine.dispose()


def test_two_processes_racing_to_build_build_once_and_map_the_same_generation(app, db, create_account, tmp_path):
    account = create_account()
    operations.add_many([(f"r{n}@x.org", "manual", None) for n in range(200)], account_id=account.id)
    db.session.commit()
    directory, builds = str(tmp_path / "race"), str(tmp_path / "builds")
    context = multiprocessing.get_context("spawn")
    start, answers = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_race, args=(app.config["SQLALCHEMY_DATABASE_URI"], directory, builds, start,
                                                   account.id, answers)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [answers.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    with open(builds) as built:
        assert len(built.read().split()) == 1  # one built; the other waited on the lock and mapped it
    assert results[0] == results[1] and results[0][1] == [0, 2]
    assert results[0][0] == compact.current(directory)


def test_the_default_directory_is_one_per_database(app, tmp_path):
    def directory(url):
        other = make_app(url, PORTAL_SUPPRESSION_INDEX_DIR=None)
        return index_directory(other)

    first = directory("postgresql+psycopg://portal:secret@127.0.0.1:5432/first")
    assert first == directory("postgresql+psycopg://portal:changed@127.0.0.1:5432/first")  # the password is no part
    assert first != directory("postgresql+psycopg://portal:secret@127.0.0.1:5432/second")
    assert first != directory("postgresql+psycopg://portal:secret@127.0.0.1:5433/first")
    assert first != directory(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert os.path.dirname(first) == os.path.join(app.instance_path, "suppression-index")
    assert "secret" not in first
    app.config["PORTAL_SUPPRESSION_INDEX_DIR"] = str(tmp_path / "chosen")
    assert index_directory(app) == str(tmp_path / "chosen")  # a configured one is used as it is
