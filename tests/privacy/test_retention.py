"""flask privacy purge: stale pending signups, old full IPs, and two runs at once."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal.consent.operations import record, verify
from portal.consent.models import ConsentEvent
from portal.db import utcnow
from portal.extensions import db
from portal.privacy.operations import retention
from portal.subscriptions.models import Contact, SignupRequest, Subscription
from portal.suppression.operations import entries_for
from tests.privacy.conftest import scan


def pending_signup(factories_contact, mailing_list, create_subscription, *, days_old, ip="192.0.2.55"):
    """A pending subscription requested ``days_old`` days ago, with its ledger event."""
    when = utcnow() - timedelta(days=days_old)
    sub = create_subscription(factories_contact, mailing_list, status="pending", requested_at=when)
    db.session.add(SignupRequest(contact_id=factories_contact.id, list_ids=[mailing_list.id], created_at=when,
                                 evidence={"ip": ip}))
    record("signup_requested", contact=factories_contact, source="form:x", list_id=mailing_list.id,
           ip=ip, user_agent="UA", occurred_at=when)
    db.session.commit()
    return sub


def test_stale_pending_signup_is_declined_purged_and_redacted(runner, create_list, create_contact,
                                                              create_subscription):
    mailing_list = create_list()
    stale = create_contact(mailing_list.account, email="Lama@example.org", name="Lama Sekali")
    fresh = create_contact(mailing_list.account, email="baru@example.org")
    pending_signup(stale, mailing_list, create_subscription, days_old=31)
    pending_signup(fresh, mailing_list, create_subscription, days_old=29, ip="192.0.2.66")

    result = runner.invoke(args=["privacy", "purge"])

    assert result.exit_code == 0, result.output
    assert "purged 1 pending subscriptions, redacted 1 contacts" in result.output
    db.session.expire_all()
    statuses = dict(db.session.execute(select(Subscription.contact_id, Subscription.status)).all())
    assert statuses == {stale.id: "declined", fresh.id: "pending"}
    types = db.session.scalars(select(ConsentEvent.type).where(ConsentEvent.contact_id == stale.id)
                               .order_by(ConsentEvent.seq)).all()
    assert types == ["signup_requested", "purged"]
    assert scan(["lama@example.org", "lama sekali", "192.0.2.55"]) == []
    assert scan(["baru@example.org", "192.0.2.66"])  # the fresh one is untouched
    assert db.session.get(SignupRequest, 1).declined_at is not None
    # Purging is not erasure: no suppression, the person may sign up again.
    assert entries_for("lama@example.org", mailing_list.account_id) == []
    assert verify().ok


def test_a_contact_with_something_else_keeps_its_data(create_list, create_contact, create_subscription):
    first = create_list()
    second = create_list(first.account)
    contact = create_contact(first.account, email="dua@example.org")
    pending_signup(contact, first, create_subscription, days_old=40)
    create_subscription(contact, second)  # confirmed elsewhere

    report = retention.purge()
    db.session.commit()

    assert (report.subscriptions, report.contacts) == (1, 0)
    assert db.session.get(Contact, contact.id).email == "dua@example.org"


def test_full_ips_are_dropped_after_the_retention_period(app, create_contact):
    contact = create_contact()
    old = record("confirmed", contact=contact, source="t", ip="203.0.113.9",
                 occurred_at=utcnow() - timedelta(days=181))
    recent = record("confirmed", contact=contact, source="t", ip="203.0.113.10",
                    occurred_at=utcnow() - timedelta(days=10))
    db.session.commit()

    assert retention.purge().ips == 1
    db.session.commit()
    db.session.expire_all()
    old, recent = db.session.get(ConsentEvent, old.id), db.session.get(ConsentEvent, recent.id)
    assert old.ip is None and old.ip_prefix == "203.0.113.0/24"
    assert recent.ip == "203.0.113.10"
    assert verify().ok


def test_retention_periods_are_configurable(app, create_list, create_contact, create_subscription):
    app.config["PORTAL_PENDING_RETENTION_DAYS"] = 5
    mailing_list = create_list()
    pending_signup(create_contact(mailing_list.account), mailing_list, create_subscription, days_old=6)
    assert retention.purge().subscriptions == 1


def test_a_second_run_while_one_holds_the_lock_exits_quietly(app, backend, runner, create_list, create_contact,
                                                             create_subscription):
    if backend != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite has a single writer")
    mailing_list = create_list()
    pending_signup(create_contact(mailing_list.account), mailing_list, create_subscription, days_old=60)
    with db.engine.connect() as other:
        with other.begin():
            assert other.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": retention.LOCK_KEY})
            result = runner.invoke(args=["privacy", "purge"])
            assert result.exit_code == 0 and "another purge is running" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(Subscription.status)).all() == ["pending"]
    assert "purged 1" in runner.invoke(args=["privacy", "purge"]).output


def test_two_concurrent_runs_purge_each_signup_once(app, create_list, create_contact, create_subscription):
    mailing_list = create_list()
    for _ in range(20):
        pending_signup(create_contact(mailing_list.account), mailing_list, create_subscription, days_old=60)
    reports, errors, start = [], [], threading.Barrier(2)

    def run():
        with app.app_context():
            try:
                start.wait()
                reports.append(retention.purge())
                db.session.commit()
            except Exception as error:  # noqa: BLE001  (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)  # seconds on a loaded machine
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    assert sum(report.subscriptions for report in reports) == 20
    purged = db.session.scalars(select(ConsentEvent).where(ConsentEvent.type == "purged")).all()
    assert len(purged) == 20
    assert verify().ok
