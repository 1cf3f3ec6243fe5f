"""Imports as jobs: queued at once, claimed by one worker, taken over after a lease, failed whole."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.db import utcnow
from portal.extensions import db as _db
from portal.imports.operations import worker
from portal.imports.models import Import, UploadChunk
from portal.subscriptions.models import Contact, Subscription
from tests.conftest import TEST_DATABASE_URL, ledger_env
from tests.reliability.support import ROOT, STARTUP_SECONDS, wait_for


def day(days_ago: int) -> str:
    return (utcnow() - timedelta(days=days_ago)).date().isoformat()


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def rows_csv(n: int, start: int = 0) -> str:
    return "email,consented_at\n" + "".join(f"p{i}@example.org,{day(3)}\n" for i in range(start, start + n))


def test_upload_is_queued_at_once_and_run_by_the_worker(post_import, client, create_list, account_auth, runner):
    mailing_list = create_list()
    posted = post_import(mailing_list, rows_csv(3))
    assert posted.status_code == 202
    body = posted.json
    assert body["status"] == "queued" and body["rows"] == 0 and body["percent"] == 0.0
    assert posted.headers["Location"] == body["report_url"] and body["file_bytes"] == len(rows_csv(3))
    assert count(Subscription) == 0 and count(UploadChunk) == 1  # stored, not yet imported
    headers = account_auth(mailing_list.account)
    assert client.get(body["report_url"], headers=headers).json["status"] == "queued"
    result = runner.invoke(args=["imports", "work", "--once"])
    assert result.exit_code == 0 and body["id"] in result.output
    report = client.get(body["report_url"], headers=headers).json
    assert report["status"] == "finished" and report["confirmed"] == 3 and report["eta_seconds"] == 0.0
    assert count(Subscription) == 3 and count(UploadChunk) == 0  # the stored upload is gone
    followed = runner.invoke(args=["imports", "show", body["id"], "--follow", "--interval", "0.1"])
    # (click draws the bar on a terminal only; here its label, then the summary)
    assert followed.exit_code == 0 and f"import {body['id']}" in followed.output
    assert "finished  rows 3  confirmed 3" in followed.output


def test_each_import_is_claimed_by_one_of_two_workers(post_import, create_list, backend):
    mailing_list = create_list()
    first = post_import(mailing_list, rows_csv(2)).json["id"]
    second = post_import(mailing_list, rows_csv(2, start=10)).json["id"]
    if backend == "postgresql":
        # Worker "a" holds the first import's row (as its claim transaction does): "b" skips it.
        with _db.engine.connect() as other:
            other.execute(select(Import.id).where(Import.id == first).with_for_update())
            claimed_b = worker.claim("b")
            assert claimed_b.id == second
            other.rollback()
        claimed_a = worker.claim("a")
        assert claimed_a.id == first
    else:
        claimed_a, claimed_b = worker.claim("a"), worker.claim("b")
        assert {claimed_a.id, claimed_b.id} == {first, second}
    assert worker.claim("c") is None  # both are running under a lease
    assert {claimed_a.worker, claimed_b.worker} == {"a", "b"}
    assert claimed_a.status == claimed_b.status == "running" and claimed_a.attempts == 1


def test_an_expired_lease_is_taken_over_and_the_old_worker_cannot_commit(post_import, create_list, client,
                                                                          account_auth):
    mailing_list = create_list()
    posted = post_import(mailing_list, rows_csv(4)).json
    stale = worker.claim("dead")
    assert worker.claim("other") is None
    _db.session.execute(update(Import).where(Import.id == stale.id).values(lease_until=utcnow() - timedelta(seconds=1)))
    _db.session.commit()
    taken = worker.claim("other")
    assert taken.id == stale.id and taken.worker == "other" and taken.attempts == 2
    with pytest.raises(worker.LeaseLost):
        worker._still_ours(stale.id, 1)  # the first claim's final check
    _db.session.rollback()
    _db.session.execute(update(Import).where(Import.id == stale.id).values(status="queued", attempts=2))
    _db.session.commit()
    assert worker.run_once()[0].status == "finished"
    report = client.get(posted["report_url"], headers=account_auth(mailing_list.account)).json
    assert report["confirmed"] == 4 and report["attempts"] == 3


def test_a_bad_file_fails_whole_with_its_reason_and_row(upload, create_list, monkeypatch, runner):
    import csv

    from portal.imports.operations import jobs

    monkeypatch.setattr(jobs, "CHUNK_SIZE", 2)
    mailing_list = create_list()
    content = rows_csv(5) + 'p9@example.org,"' + "x" * (csv.field_size_limit() + 10) + "\n"
    report = upload(mailing_list, content).json
    assert report["status"] == "failed" and report["error"]["code"] == "invalid_csv"
    assert "not valid CSV" in report["error"]["message"] and report["error"]["row"] == 6
    assert report["confirmed"] == 0 and report["refused"] == 0
    # Two chunks were written before the bad row: none of it stays.
    assert count(Contact) == 0 and count(Subscription) == 0 and count(UploadChunk) == 0
    shown = runner.invoke(args=["imports", "show", report["id"]])
    assert "failed: invalid_csv at row 6" in shown.output
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_a_database_failure_fails_the_import_and_keeps_nothing(upload, create_list, monkeypatch):
    from portal.imports.operations import batch

    mailing_list = create_list()
    real = batch.Batch._subscriptions

    def broken(self, accepted, contacts, requests):
        real(self, accepted, contacts, requests)
        _db.session.execute(Subscription.__table__.insert(), [{"contact_id": -1, "list_id": "nope"}])

    monkeypatch.setattr(batch.Batch, "_subscriptions", broken)
    report = upload(mailing_list, rows_csv(3)).json
    assert report["status"] == "failed" and report["error"]["code"] == "database_error"
    assert report["error"]["row"] == 4 and count(Contact) == 0 and count(Subscription) == 0


def test_an_account_suspended_while_queued_fails_its_import(post_import, create_list, db):
    from portal.accounts.operations import change_status

    mailing_list = create_list()
    posted = post_import(mailing_list, rows_csv(2)).json
    change_status(mailing_list.account, "suspended", reason="test")
    db.session.commit()
    (record,) = worker.run_once()
    assert record.id == posted["id"] and record.status == "failed" and record.error_code == "account_suspended"
    assert count(Subscription) == 0


def test_an_import_interrupted_too_often_is_failed(post_import, create_list, app):
    app.config["PORTAL_IMPORT_MAX_ATTEMPTS"] = 1
    mailing_list = create_list()
    posted = post_import(mailing_list, rows_csv(2)).json
    _db.session.execute(update(Import).where(Import.id == posted["id"]).values(attempts=1))
    _db.session.commit()
    (record,) = worker.run_once()
    assert record.status == "failed" and record.error_code == "interrupted" and count(Subscription) == 0


class ImportWorker:
    """``flask imports work`` in its own process, on the test's database."""

    #: How long it is given to stop when asked, before it is killed.
    stop_seconds = 15

    def __init__(self, database_url: str, **env):
        from tests.reliability.support import process_ledger_env

        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                    "PORTAL_BASE_URL": "https://portal.test", **process_ledger_env(),
                    **{k: str(v) for k, v in env.items()}}
        self.args = [sys.executable, "-m", "flask", "--app", "wsgi", "imports", "work", "--poll", "0.2"]
        self.process = None

    def __enter__(self) -> "ImportWorker":
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc) -> None:
        """Stop the worker; killed when it does not stop (mid-import it finishes the import first),
        so that it never outlives the test and claims a later test's imports."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)


def _handles_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (Linux: the caught-signals mask)."""
    with open(f"/proc/{pid}/status") as status:
        caught = next(line for line in status if line.startswith("SigCgt:")).split()[1]
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def test_a_worker_that_does_not_stop_is_killed_when_the_test_ends(app):
    worker = ImportWorker(app.config["SQLALCHEMY_DATABASE_URI"], **ledger_env(app))
    worker.stop_seconds = 0.5
    with worker:
        assert wait_for(lambda: _handles_sigterm(worker.process.pid), timeout=STARTUP_SECONDS)
        os.kill(worker.process.pid, signal.SIGSTOP)  # frozen, it cannot run its handler: SIGTERM waits
    assert worker.process.returncode == -signal.SIGKILL


#: Rows of the import a worker is killed in: 5 chunks (batch.CHUNK_SIZE), progress written after each.
KILLED_ROWS = 10_000


@pytest.mark.slow
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a worker in its own process needs PostgreSQL")
def test_a_worker_killed_mid_import_is_taken_over(post_import, app, client, create_list, account_auth, database,
                                                   runner, backend):
    if backend != "postgresql":
        pytest.skip("a worker in its own process needs PostgreSQL")
    mailing_list = create_list()
    content = rows_csv(KILLED_ROWS)
    posted = post_import(mailing_list, content, method="single_opt_in").json
    headers = account_auth(mailing_list.account)

    def report():
        _db.session.rollback()  # the test's session is the requests' session: a fresh look each time
        return client.get(posted["report_url"], headers=headers).json

    keys = ledger_env(app)  # the workers write events the test's ledger keys must verify
    with ImportWorker(database.url, PORTAL_IMPORT_LEASE_SECONDS=2, **keys) as doomed:
        assert wait_for(lambda: report()["rows"] > 0, timeout=120, interval=0.05), report()
        # Frozen at once, after its first chunk of five: what it wrote is looked at, then it is killed.
        os.kill(doomed.process.pid, signal.SIGSTOP)
        seen = report()
        assert seen["status"] == "running" and 0 < seen["percent"] < 100 and seen["eta_seconds"] is not None
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(10)
    # Its transaction died with it: nothing of the import is on the list.
    _db.session.rollback()
    assert wait_for(lambda: count(Subscription) == 0, timeout=30)
    assert report()["status"] == "running"  # until the lease runs out
    with ImportWorker(database.url, **keys):
        assert wait_for(lambda: report()["status"] == "finished", timeout=300, interval=0.2), report()
    final = report()
    assert final["attempts"] == 2 and final["rows"] == KILLED_ROWS and final["pending"] == KILLED_ROWS
    assert final["refused"] == 0 and count(Subscription) == KILLED_ROWS and count(Contact) == KILLED_ROWS
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
