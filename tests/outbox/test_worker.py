"""The outbox worker: .eml files, retries with backoff, giving up, the CLI, two workers at once."""
from __future__ import annotations

import email
import email.policy
import logging
import threading
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.extensions import db
from portal.outbox import worker
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.operations import enqueue_mail
from tests.conftest import free_port, make_app, other_app
from tests.subscriptions.helpers import signup


def _queue(create_form, client, count=1):
    form = create_form()
    for n in range(count):
        signup(client, form, f"person{n}@example.org")
    return form


def test_without_mail_server_writes_eml_files_and_logs_links(app, client, create_form, caplog, tmp_path):
    _queue(create_form, client)
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        report = worker.run_once()
    assert len(report.sent) == 1
    (path,) = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "person0@example.org" and parsed["Message-ID"]
    assert {part.get_content_type() for part in parsed.walk()} >= {"text/plain", "text/html"}
    assert "https://portal.test/confirm/" in caplog.text and str(path) in caplog.text
    assert db.session.get(OutboxMessage, report.sent[0]).status == OutboxStatus.SENT


def test_failure_backs_off_exponentially_then_gives_up(app, create_account):
    account = create_account()
    message = enqueue_mail("confirmation", to="a@example.org", context={
        "account": account, "lists": [], "form_name": None, "page_host": None,
        "confirm_url": "https://portal.test/confirm/x", "max_age_days": 7}, account_id=account.id)
    db.session.commit()
    message_id = message.id
    now = utcnow()
    waits = []
    with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), PORTAL_OUTBOX_MAX_ATTEMPTS=3,
                   PORTAL_OUTBOX_BACKOFF_SECONDS=10):
        for _ in range(3):
            report = worker.run_once(now=now)
            row = db.session.get(OutboxMessage, message_id)
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
        assert report.failed == [message_id]
        assert worker.run_once(now=now + timedelta(days=1)).failed == []  # never tried again
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert row.status == OutboxStatus.FAILED and row.attempts == 3 and "Error" in row.last_error
    assert waits[:2] == [timedelta(seconds=10), timedelta(seconds=20)]


def test_a_claimed_message_is_not_claimed_again_until_its_lease_ends(app, client, create_form):
    _queue(create_form, client)
    (claimed,) = worker.claim(10)
    assert worker.claim(10) == []
    assert [m.id for m in worker.claim(10, now=utcnow() + timedelta(hours=1))] == [claimed.id]


def test_cli_work_once(runner, client, create_form, tmp_path):
    _queue(create_form, client, count=2)
    result = runner.invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0 and "sent 2" in result.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_two_workers_never_send_one_message_twice(app, client, create_form, smtp_server, backend):
    if backend != "postgresql":
        pytest.skip("several workers on one database is the PostgreSQL deployment")
    _queue(create_form, client, count=30)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    barrier = threading.Barrier(2)
    reports, errors = [], []

    # The two workers' apps are built here, one after the other: the race under test is the
    # claim of messages, not building apps, and an error there would leave the other thread waiting.
    apps = [make_app(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, PORTAL_OUTBOX_BATCH_SIZE=3)
            for _ in range(2)]

    def work(other):
        try:
            with other.app_context():
                barrier.wait(30)
                reports.append(worker.run_once())
                db.session.remove()
                db.engine.dispose()
        except Exception as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(other,)) for other in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)  # seconds on a loaded machine
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    ids = [message_id for report in reports for message_id in report.sent]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert all(report.sent for report in reports)  # both took a share
    message_ids = [str(message["Message-ID"]) for message in smtp_server.messages]
    assert len(message_ids) == 30 and len(set(message_ids)) == 30
