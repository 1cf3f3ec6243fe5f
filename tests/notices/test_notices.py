"""Privacy notice versions (UU PDP Art. 21(2)): published per account or as the platform's default,
recorded on every consent event, mailed to every confirmed contact before they take effect (paced,
through the outbox, each mail recorded in the ledger as it leaves), carried by proofs and receipts."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from portal.consent import operations as consent_operations
from portal.consent.models import ConsentEvent
from portal.consent.verify import notice_digest
from portal.db import isoformat, utcnow
from portal.extensions import db
from portal.notices.models import NoticeMailing, PrivacyNotice
from portal.outbox.models import OutboxMessage
from portal.outbox.worker import run_once
from tests import conftest
from tests.pagetools import refusal

LATER = timedelta(days=30)


def publish(client, auth, account_id=None, *, effective_at=None, content=None):
    path = f"/api/v1/accounts/{account_id}/privacy-notices" if account_id else "/api/v1/privacy-notices"
    return client.post(path, headers=auth, json={
        "effective_at": isoformat(effective_at or utcnow() + LATER),
        "content": content or {"en": {"url": "https://shop.example/privacy"},
                               "id": {"text": "Kami memproses alamat email Anda untuk mengirim kabar.\n\nHubungi kami."}}})


@pytest.fixture
def audience(create_list, create_contact, create_subscription):
    """A list with three confirmed contacts, one pending and one unsubscribed: (list, confirmed contacts)."""
    mailing_list = create_list()
    confirmed = [create_subscription(create_contact(mailing_list.account), mailing_list).contact for _ in range(3)]
    create_subscription(create_contact(mailing_list.account), mailing_list, status="pending")
    create_subscription(create_contact(mailing_list.account), mailing_list, status="unsubscribed")
    return mailing_list, confirmed


def outbox(kind="privacy_notice"):
    """The queued mails of ``kind``, read afresh (the worker runs in its own session)."""
    db.session.expire_all()
    return conftest.outbox(kind)


def wait_until_in_force(notice_json):
    """Sleep until a version published moments ahead (lead 0) is in force."""
    from datetime import datetime

    due = datetime.fromisoformat(notice_json["effective_at"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.05)


# --- publishing and listing -------------------------------------------------------------------

def test_an_account_publishes_versions_and_lists_them(client, account_auth, audience):
    mailing_list, _confirmed = audience
    auth = account_auth(mailing_list.account)
    first = publish(client, auth, mailing_list.account_id)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["version"] == 1 and body["account_id"] == mailing_list.account_id
    assert body["published_by"].startswith("api_key:") and body["url"] == f"https://portal.test/privacy-notices/{body['id']}"
    assert body["sha256"] == notice_digest(body)
    assert body["mailing"]["recipients"] == 3 and body["mailing"]["queued"] == 0 and body["mailing"]["status"] == "running"
    second = publish(client, auth, mailing_list.account_id, content={"en": {"text": "Version two."}}).get_json()
    assert second["version"] == 2
    listed = client.get(f"/api/v1/accounts/{mailing_list.account_id}/privacy-notices", headers=auth).get_json()
    assert [n["version"] for n in listed["items"]] == [1, 2] and listed["next_cursor"] is None
    assert client.get("/api/v1/privacy-notices", headers=auth).get_json()["items"] == []


def test_the_platform_publishes_the_default_and_an_account_key_may_not(client, platform_auth, account_auth,
                                                                       create_account):
    account = create_account()
    refused = publish(client, account_auth(account))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    made = publish(client, platform_auth)
    assert made.status_code == 201 and made.get_json()["account_id"] is None
    assert client.get("/api/v1/privacy-notices", headers=account_auth(account)).get_json()["items"][0]["version"] == 1


@pytest.mark.app_config(PORTAL_NOTICE_MAILS_PER_MINUTE=1, PORTAL_NOTICE_LEAD_HOURS=24)
def test_a_version_that_would_take_effect_before_its_mails_is_refused(client, account_auth, audience):
    mailing_list, _ = audience
    # Three mails, one a minute: the last two minutes from now, then 24 hours.
    response = publish(client, account_auth(mailing_list.account), mailing_list.account_id,
                       effective_at=utcnow() + timedelta(hours=24))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "effective_too_soon" and error["details"]["recipients"] == 3
    assert "3 confirmed contacts are mailed 1 a minute" in error["message"]
    assert db.session.scalar(select(PrivacyNotice.id)) is None and db.session.scalar(select(NoticeMailing.id)) is None


@pytest.mark.parametrize("content, code", [
    ({"fr": {"url": "https://shop.example/fr"}}, "invalid_locale"),
    ({"en": {}}, "empty_notice"),
    ({"en": {"url": "javascript:alert(1)"}}, "invalid_url"),
    ({"en": {"url": "/relative"}}, "invalid_url"),
    ({"en": {"url": "http://[broken"}}, "invalid_url"),
])
def test_bad_content_is_refused_naming_why(client, account_auth, create_account, content, code):
    account = create_account()
    response = publish(client, account_auth(account), account.id, content=content)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == code
    assert db.session.scalar(select(PrivacyNotice.id)) is None


def test_a_time_past_what_a_date_holds_is_refused(client, account_auth, create_account):
    account = create_account()
    response = client.post(f"/api/v1/accounts/{account.id}/privacy-notices", headers=account_auth(account),
                           json={"effective_at": "9999-12-31T23:59:59-14:00", "content": {"en": {"text": "x"}}})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_failed"


def test_versions_are_insert_only(client, account_auth, create_account):
    from sqlalchemy.exc import DatabaseError

    account = create_account()
    assert publish(client, account_auth(account), account.id).status_code == 201
    for statement in ("UPDATE privacy_notices SET version = 9", "DELETE FROM privacy_notices"):
        with pytest.raises(DatabaseError, match="privacy_notices is insert-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))


def test_publishing_costs_the_same_statements_for_few_or_many_contacts(app, client, account_auth, create_list,
                                                                       create_contact, create_subscription):
    """No loop over contacts in the request: a count, the version, its mailing (a million contacts alike)."""
    counts = []
    for contacts in (2, 25):
        mailing_list = create_list()
        for _ in range(contacts):
            create_subscription(create_contact(mailing_list.account), mailing_list)
        auth = account_auth(mailing_list.account)
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert publish(client, auth, mailing_list.account_id).get_json()["mailing"]["recipients"] == contacts
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert db.session.scalar(select(OutboxMessage.id)) is None  # nothing mailed by the request


def test_the_cli_publishes_and_lists(runner, create_account, tmp_path):
    account = create_account()
    words = tmp_path / "id.txt"
    words.write_text("Pemberitahuan privasi kami.", encoding="utf-8")
    when = isoformat(utcnow() + LATER)
    done = runner.invoke(args=["notices", "publish", "--account", account.id, "--effective-at", when,
                               "--url", "en=https://shop.example/privacy", "--text-file", f"id={words}"])
    assert done.exit_code == 0, done.output
    assert "privacy notice version 1" in done.output and "0 notice mails" in done.output
    listed = runner.invoke(args=["notices", "list", "--account", account.id, "--json"])
    item, = __import__("json").loads(listed.output)["items"]
    assert item["content"] == {"en": {"url": "https://shop.example/privacy", "text": None},
                               "id": {"url": None, "text": "Pemberitahuan privasi kami."}}
    assert item["published_by"].startswith("operator:")
    bad = runner.invoke(args=["notices", "publish", "--effective-at", when, "--url", "xx=https://a.example"])
    assert bad.exit_code == 1 and "invalid_locale" in bad.output


# --- the notice mails ----------------------------------------------------------------------

@pytest.mark.app_config(PORTAL_NOTICE_MAILS_PER_MINUTE=2)
def test_the_mails_leave_paced_through_the_outbox_and_each_is_recorded_in_the_ledger(client, account_auth, audience):
    mailing_list, confirmed = audience
    notice = publish(client, account_auth(mailing_list.account), mailing_list.account_id).get_json()
    from portal.notices.operations import release_due

    start = utcnow()
    assert release_due(start) == 2  # the worker's producer: this minute's chunk and the next
    db.session.commit()
    mails = outbox()
    assert sorted(m.recipient for m in mails) == sorted(c.email for c in confirmed)
    assert all(m.context["notice_id"] == notice["id"] and "text" not in m.payload for m in mails)  # references
    due = sorted(m.next_attempt_at for m in mails)
    assert due[1] - due[0] < timedelta(seconds=1) and timedelta(seconds=59) < due[2] - due[0] < timedelta(seconds=61)
    first_pass = run_once(now=start)
    assert len(first_pass.sent) == 2  # this minute's chunk only
    later = run_once(now=start + timedelta(minutes=2))
    assert len(later.sent) == 1
    sent = db.session.scalars(select(ConsentEvent).where(ConsentEvent.type == "privacy_notice_sent")).all()
    assert sorted(e.contact_id for e in sent) == sorted(c.id for c in confirmed)
    assert sent[0].evidence["notice_sent"] == {"id": notice["id"], "version": 1, "sha256": notice["sha256"],
                                               "effective_at": notice["effective_at"]}
    assert {e.evidence["outbox_message_id"] for e in sent} == {m.id for m in mails}
    mailing = db.session.scalars(select(NoticeMailing)).one()
    assert mailing.status == "done" and mailing.queued == 3
    from portal.outbox.operations import render_message

    rendered = render_message(mails[0])  # as the worker rendered it when it left
    assert "is updating its privacy notice" in rendered["subject"] and "https://shop.example/privacy" in rendered["text"]
    assert "/preferences/" in rendered["text"] and mailing_list.account.postal_address in rendered["text"]
    assert rendered["sender"]["name"] == f"{mailing_list.account.name} via Consent Portal"
    assert rendered["sender"]["reply_to"] == mailing_list.account.contact_email
    assert consent_operations.verify().ok


def test_a_person_who_left_before_their_mail_is_not_mailed(client, account_auth, audience):
    from portal.subscriptions.models import Subscription

    mailing_list, confirmed = audience
    publish(client, account_auth(mailing_list.account), mailing_list.account_id)
    left = confirmed[0]
    for subscription in db.session.scalars(select(Subscription).where(Subscription.contact_id == left.id)):
        subscription.status = "unsubscribed"
    db.session.commit()
    run_once()
    mail, = [m for m in outbox() if m.recipient == left.email] or [None]
    assert mail is None  # left before the chunk was released: never queued
    assert len([m for m in outbox() if m.status == "sent"]) == 2


def test_a_newer_version_replaces_the_mails_of_the_older_still_waiting(client, account_auth, audience):
    mailing_list, _ = audience
    auth = account_auth(mailing_list.account)
    publish(client, auth, mailing_list.account_id)
    from portal.notices.operations import release_due

    release_due()  # version 1's mails wait in the outbox...
    db.session.commit()
    publish(client, auth, mailing_list.account_id, effective_at=utcnow() + LATER + timedelta(days=1))
    run_once()  # ...then version 2 is published before they leave
    by_version = {}
    for mail in outbox():
        by_version.setdefault(db.session.get(PrivacyNotice, mail.context["notice_id"]).version, []).append(mail)
    assert all(m.status == "failed" and "replaced by a newer one" in m.last_error for m in by_version[1])
    assert all(m.status == "sent" for m in by_version[2]) and len(by_version[2]) == 3


@pytest.mark.app_config(PORTAL_NOTICE_MAILS_PER_MINUTE=1000)
def test_the_platform_notice_mails_the_contacts_of_accounts_without_their_own(client, platform_auth, account_auth,
                                                                               audience, create_list,
                                                                               create_subscription, create_contact):
    mailing_list, confirmed = audience
    own = create_list()
    create_subscription(create_contact(own.account), own)
    assert publish(client, account_auth(own.account), own.account_id).status_code == 201
    platform = publish(client, platform_auth).get_json()
    assert platform["mailing"]["recipients"] == 3  # not the contact of the account with its own notice
    run_once()
    platform_mails = [m for m in outbox() if m.context["notice_id"] == platform["id"]]
    assert sorted(m.recipient for m in platform_mails) == sorted(c.email for c in confirmed)
    from portal.outbox.operations import render_message

    assert "Consent Portal, which sends email for" in render_message(platform_mails[0])["text"]


# --- recorded on every event, carried by proofs and receipts ---------------------------------

@pytest.mark.app_config(PORTAL_NOTICE_LEAD_HOURS=0)
def test_events_record_the_version_in_force_and_proofs_and_receipts_carry_it(app, client, runner, account_auth,
                                                                             platform_auth, create_form, tmp_path):
    import json

    from portal.consent.verify import verify_bundle
    from portal.receipts.operations import receipt_token
    from portal.signup import operations as signup
    from portal.consent.evidence import RequestEvidence

    form = create_form()
    auth = account_auth(form.account)
    platform = publish(client, platform_auth, effective_at=utcnow() + timedelta(seconds=1)).get_json()
    wait_until_in_force(platform)
    request = signup.request_signup(form, email="sari@example.org", evidence=RequestEvidence(ip="203.0.113.9"))
    db.session.commit()
    own = publish(client, auth, form.account_id, effective_at=utcnow() + timedelta(seconds=1)).get_json()
    wait_until_in_force(own)
    signup.confirm(request.id, evidence=RequestEvidence(ip="203.0.113.9"))
    db.session.commit()
    events = consent_operations.events_for_contact(request.contact_id)
    shown = {e.type: e.evidence["privacy_notice"]["id"] for e in events}
    assert shown["signup_requested"] == platform["id"]  # the account had none of its own yet
    assert shown["confirmed"] == own["id"]
    assert events[-1].evidence["privacy_notice"] == {"id": own["id"], "version": 1, "sha256": own["sha256"]}
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    db.session.rollback()
    bundle = client.get(f"/api/v1/accounts/{form.account_id}/ledger/proof?email=sari@example.org", headers=auth).get_json()
    keys = client.get("/.well-known/consent-ledger-keys").get_json()
    assert sorted(n["id"] for n in bundle["privacy_notices"]) == sorted([platform["id"], own["id"]])
    assert verify_bundle(bundle, keys) == []
    altered = json.loads(json.dumps(bundle))
    altered["privacy_notices"][-1]["content"]["id"]["text"] = "Kami menjual data Anda."
    problems = verify_bundle(altered, keys)
    assert f"privacy notice {own['id']} (version 1): its content does not match its SHA-256" in problems
    document = client.get(f"/receipts/{receipt_token(request.contact_id)}.json").get_json()
    assert document["privacy_notice"]["version"] == 1 and document["privacy_notice"]["owner"] == "controller"
    assert document["privacy_notice"]["url"] == "https://shop.example/privacy"
    assert document["privacy_notice"]["sha256"] == own["sha256"]
    with app.app_context():  # a request of its own, as in production (the locale is cached per context)
        page = client.get(f"/receipts/{receipt_token(request.contact_id)}?lang=id").get_data(as_text=True)
    assert f'href="{own["url"]}"' in page  # Indonesian has only a text: the portal's page of it


@pytest.mark.app_config(PORTAL_NOTICE_LEAD_HOURS=0)
def test_a_stored_version_changed_behind_the_guard_is_named_by_verify(app, client, runner, account_auth, backend,
                                                                      create_subscription, create_list):
    from tests.consent.hostile import as_dba

    mailing_list = create_list()
    notice = publish(client, account_auth(mailing_list.account), mailing_list.account_id,
                     effective_at=utcnow() + timedelta(seconds=1)).get_json()
    wait_until_in_force(notice)
    create_subscription(mailing_list=mailing_list)  # its confirmed event records the version
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    with as_dba(db, backend) as conn:
        if backend == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS privacy_notices_no_update"))
        content = '{"en": {"url": "https://shop.example/we-sell-your-data", "text": null}}'
        conn.execute(text("UPDATE privacy_notices SET content = :c"), {"c": content})
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "the privacy notice version 1 it records is missing from privacy_notices or was changed" in result.output


def test_the_public_page_shows_a_version_in_the_readers_language(app, client, account_auth, create_account):
    account = create_account(name="Toko Sari")
    notice = publish(client, account_auth(account), account.id).get_json()
    with app.app_context():  # each page a request of its own (the locale is cached per context)
        page = client.get(f"/privacy-notices/{notice['id']}?lang=id")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Pemberitahuan privasi Toko Sari" in body and "Kami memproses alamat email Anda" in body
    with app.app_context():
        english = client.get(f"/privacy-notices/{notice['id']}?lang=en").get_data(as_text=True)
    assert 'href="https://shop.example/privacy"' in english and "Privacy notice of Toko Sari" in english
    missing = client.get("/privacy-notices/999999")
    assert refusal(missing) == (404, "not_found")


def test_a_failing_producer_never_stops_delivery(client, create_form, monkeypatch, caplog):
    from portal.outbox import operations as outbox_operations
    from tests.subscriptions.helpers import signup

    def broken(now):
        raise RuntimeError("the mailing's database row is odd")

    monkeypatch.setattr(outbox_operations, "_PRODUCERS", [broken, *outbox_operations._PRODUCERS])
    signup(client, create_form())
    report = run_once()
    assert len(report.sent) == 1  # the confirmation mail left all the same
    assert "a producer failed" in caplog.text


@pytest.mark.app_config(PORTAL_NOTICE_LEAD_HOURS=0)
def test_a_batch_records_the_version_in_force_as_it_is_written(client, account_auth, create_contact):
    """Imports write events in batches: each records the version in force for its transaction."""
    from portal.consent.operations import NewEvent, record_many

    contact = create_contact()
    auth = account_auth(contact.account)

    def batch():
        record_many([NewEvent("imported", contact.id, contact.account_id, contact.email, "import:x")])
        db.session.commit()
        return consent_operations.events_for_contact(contact.id)[-1].evidence.get("privacy_notice")

    assert batch() is None  # no version yet
    first = publish(client, auth, contact.account_id, effective_at=utcnow() + timedelta(seconds=1)).get_json()
    wait_until_in_force(first)
    assert batch()["version"] == 1
    second = publish(client, auth, contact.account_id, effective_at=utcnow() + timedelta(seconds=1)).get_json()
    wait_until_in_force(second)
    assert batch()["version"] == 2  # a new transaction reads it again
