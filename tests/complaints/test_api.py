"""``POST /api/v1/feedback/arf``: every fixture report, duplicates, hostile input (STANDARDS G)."""
import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.complaints.models import Complaint, FeedbackReport, ReviewCase
from portal.consent.models import ConsentEvent
from portal.outbox.models import OutboxMessage
from portal.subscriptions.models import Subscription
from portal.suppression import operations as suppressions
from portal.suppression.models import Suppression
from tests.complaints.support import (bodies, deliver_outbox, fixture, list_unsubscribe_for,
                                      mailto_unsubscribe_for, review_args, rewrite)

URL = "/api/v1/feedback/arf"
RFC822 = {"Content-Type": "message/rfc822"}

#: The fixtures that are complaints, each rewritten so that it names a contact we made.
MATCHED = {
    "01": lambda c, l: rewrite("01", to=c.email, rcpt_to=c.email),  # Original-Rcpt-To
    "02": lambda c, l: rewrite("02", list_unsubscribe=list_unsubscribe_for(c, l, "<m2@platform>")),
    "04": lambda c, l: rewrite("04", to=c.email, hint=c.email),  # non-ARF, Outlook hint
    "07": lambda c, l: rewrite("07", list_unsubscribe=mailto_unsubscribe_for(c, l)),  # mailto token
    "07-legacy": lambda c, l: rewrite("07", list_unsubscribe=mailto_unsubscribe_for(c, l, legacy=True)),
    "08": lambda c, l: rewrite("08", rcpt_to=f"<{c.email}>"),
}


def post(client, raw, headers, **extra):
    return client.post(URL, data=raw, headers={**RFC822, **headers, **extra})


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def state(db):
    """Everything a report may change, counted."""
    db.session.expire_all()
    return {model.__name__: count(db, model) for model in
            (FeedbackReport, Complaint, Suppression, ConsentEvent, OutboxMessage, ReviewCase)}


@pytest.fixture
def audience(create_list, create_contact, create_subscription):
    """A list with two confirmed contacts."""
    mailing_list = create_list()
    contacts = [create_contact(mailing_list.account) for _ in range(2)]
    for contact in contacts:
        create_subscription(contact, mailing_list)
    return mailing_list, contacts


@pytest.mark.parametrize("prefix", sorted(MATCHED))
def test_g8_fixture_complaint_warns_then_suspends_then_review(prefix, client, db, platform_auth, audience,
                                                              smtp_server, runner):
    mailing_list, (first, second) = audience
    account_id = mailing_list.account_id

    response = post(client, MATCHED[prefix](first, mailing_list), platform_auth)
    assert response.status_code == 202, response.json
    assert response.json["matched"] is True and response.json["action"] == "complaint"
    assert response.json["duplicate"] is False
    account = db.session.get(Account, account_id)
    db.session.refresh(account)
    assert account.status == "warned"
    assert suppressions.entries_for(first.email, account_id)[0].reason == "complaint"
    assert db.session.scalars(select(Subscription.status).where(Subscription.contact_id == first.id)).all() \
        == ["complained"]
    complaint = db.session.scalars(select(Complaint)).one()
    assert complaint.source == "feedback_loop" and complaint.feedback_report_id == response.json["report_id"]

    deliver_outbox(smtp_server.port)
    warning = smtp_server.messages[-1]
    assert warning["To"] == account.contact_email and "Warning" in warning["Subject"]
    text, html = bodies(warning)
    for body in (text, html):
        assert "not requested" in body and "warned" in body and first.email not in body
        assert account.postal_address in body

    response = post(client, MATCHED[prefix](second, mailing_list), platform_auth)
    assert response.status_code == 202 and response.json["action"] == "complaint"
    db.session.refresh(account)
    assert account.status == "suspended"
    deliver_outbox(smtp_server.port)
    assert "suspended" in smtp_server.messages[-1]["Subject"]
    assert len(smtp_server.messages) == 2

    result = runner.invoke(args=review_args(account_id, "--decision", "reinstate",
                                            "--note", "Lists checked", "--actor", "ops"))
    assert result.exit_code == 0, result.output
    db.session.refresh(account)
    assert account.status == "active"


def test_g13_the_same_report_twice_counts_once(client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    raw = MATCHED["01"](contact, mailing_list)
    first = post(client, raw, platform_auth)
    before = state(db)
    again = post(client, raw, platform_auth)
    assert again.status_code == 202
    assert again.json == dict(first.json, duplicate=True)
    assert state(db) == before


def test_g13_the_same_message_reported_again_counts_once(client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    post(client, MATCHED["01"](contact, mailing_list), platform_auth)
    # Another report (other bytes) about the same message of the same contact.
    raw = MATCHED["01"](contact, mailing_list).replace(b"Subject: Fw: Nyaaaaaaaan", b"Subject: again")
    response = post(client, raw, platform_auth)
    assert response.status_code == 202 and response.json["duplicate"] is False
    assert count(db, Complaint) == 1 and count(db, FeedbackReport) == 2
    account = db.session.get(Account, mailing_list.account_id)
    db.session.refresh(account)
    assert account.status == "warned"


def test_g8_unmatched_yahoo_report_is_kept_for_review(client, db, platform_auth, audience):
    response = post(client, fixture("01"), platform_auth)
    assert response.status_code == 202
    assert response.json["matched"] is False and response.json["action"] == "review"
    report = db.session.get(FeedbackReport, response.json["report_id"])
    assert report.review_status == "open" and report.raw == fixture("01")
    assert report.details["version_nonconformant"] is True and report.details["received_date"]
    assert count(db, Complaint) == 0 and count(db, Suppression) == 0


def test_g9_fixture03_redacted_and_hashed_goes_to_review(client, db, platform_auth, create_contact):
    create_contact(email="hashed@example.org")  # not the report's domain: nothing to find
    response = post(client, fixture("03"), platform_auth)
    assert response.json == {"report_id": response.json["report_id"], "feedback_type": "abuse",
                             "matched": False, "action": "review", "duplicate": False}
    report = db.session.get(FeedbackReport, response.json["report_id"])
    assert report.details["source_ip"] == "10.0.0.1" and report.details["version_nonconformant"] is False
    assert count(db, Suppression) == 0


def test_g8_fixture05_auth_failure_is_kept_without_suppression(client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    response = post(client, rewrite("05", to=f"<{contact.email}>"), platform_auth)
    assert response.status_code == 202
    assert response.json["feedback_type"] == "auth-failure" and response.json["action"] == "kept"
    assert response.json["matched"] is True
    assert count(db, Suppression) == 0 and count(db, Complaint) == 0
    account = db.session.get(Account, mailing_list.account_id)
    db.session.refresh(account)
    assert account.status == "active"


def test_g1_fixture06_mailto_unsubscribe_is_not_a_complaint(client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    token_address = mailto_unsubscribe_for(contact, mailing_list).strip("<>").removeprefix("mailto:").split("?")[0]
    response = post(client, rewrite("06", to=token_address), platform_auth)
    assert response.status_code == 202
    assert response.json["matched"] is False and response.json["action"] == "review"
    assert count(db, Suppression) == 0 and count(db, Complaint) == 0
    assert db.session.scalars(select(Subscription.status).where(Subscription.contact_id == contact.id)).all() \
        == ["confirmed"]


def test_g9_fixture07_undisclosed_recipients_goes_to_review(client, db, platform_auth):
    response = post(client, fixture("07"), platform_auth)
    assert response.json["matched"] is False and response.json["action"] == "review"


def test_g9_fixture08_as_published_resolves_by_original_rcpt_to(client, db, platform_auth, create_contact):
    contact = create_contact(email="user@example.com")
    response = post(client, fixture("08"), platform_auth)
    assert response.json["matched"] is True and response.json["action"] == "complaint"
    report = db.session.get(FeedbackReport, response.json["report_id"])
    assert report.contact_id == contact.id and report.details["matched_via"] == "original_rcpt_to"
    assert report.details["reported_uri"] == ["http://example.net/earn_money.html", "mailto:user@example.com"]
    assert "removal_recipient" not in report.details


def test_g9_token_wins_over_addresses(client, db, platform_auth, audience):
    mailing_list, (first, second) = audience
    raw = rewrite("01", to=second.email, rcpt_to=second.email,
                  list_unsubscribe=list_unsubscribe_for(first, mailing_list, "<m1@platform>"))
    response = post(client, raw, platform_auth)
    complaint = db.session.scalars(select(Complaint)).one()
    assert complaint.contact_id == first.id and complaint.message_ref == "<m1@platform>"
    assert complaint.list_id == mailing_list.id
    assert db.session.get(FeedbackReport, response.json["report_id"]).details["matched_via"] == "list_unsubscribe"


def test_g9_an_address_in_two_accounts_is_not_guessed(client, db, platform_auth, create_contact):
    create_contact(email="shared@example.org")
    create_contact(email="Shared@example.org")  # another account
    response = post(client, rewrite("01", to="shared@example.org", rcpt_to="shared@example.org"), platform_auth)
    assert response.json["matched"] is False and response.json["action"] == "review"
    assert count(db, Suppression) == 0


@pytest.mark.parametrize("feedback_type, action", [("not-spam", "none"), ("virus", "kept"), ("opt-out", "review"),
                                                   ("other", "review"), ("fraud", "complaint")])
def test_g7_every_feedback_type_is_accepted(feedback_type, action, client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    raw = MATCHED["01"](contact, mailing_list).replace(b"Feedback-Type: abuse", f"Feedback-Type: {feedback_type}".encode())
    response = post(client, raw, platform_auth)
    assert response.status_code == 202
    assert response.json["feedback_type"] == feedback_type and response.json["action"] == action
    assert count(db, Suppression) == (1 if action == "complaint" else 0)


def test_g14_not_spam_never_removes_a_suppression(client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    post(client, MATCHED["01"](contact, mailing_list), platform_auth)
    raw = MATCHED["08"](contact, mailing_list).replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    assert post(client, raw, platform_auth).json["action"] == "none"
    assert suppressions.entries_for(contact.email, mailing_list.account_id)[0].reason == "complaint"


@pytest.mark.parametrize("change, reason", [
    ((b"Version: 0.1\n", b""), "version appears 0 times"),
    ((b"User-Agent: Yahoo!-Mail-Feedback/1.0\n", b"User-Agent: a\nUser-Agent: b\n"), "user-agent appears 2 times"),
    ((b"Received-Date:", b"Arrival-Date: Thu, 29 Apr 2013 23:45:50 PST\nReceived-Date:"), "both arrival-date"),
])
def test_g4_g6_malformed_reports_are_stored_without_suppression(change, reason, client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    raw = MATCHED["01"](contact, mailing_list).replace(*change)
    response = post(client, raw, platform_auth)
    assert response.status_code == 202 and response.json["action"] == "review"
    assert reason in db.session.get(FeedbackReport, response.json["report_id"]).details["malformed"]
    assert count(db, Suppression) == 0 and count(db, Complaint) == 0


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"hello, this is not mail", b'{"feedback": "abuse"}',
                                 bytes(range(256)) * 4, b"\x00\x00\x00"])
def test_not_a_mail_message_is_422_and_nothing_is_recorded(raw, client, db, platform_auth):
    response = post(client, raw, platform_auth)
    assert response.status_code == 422 and response.json["error"]["code"] == "not_a_message"
    assert count(db, FeedbackReport) == 0


def test_g12_too_large_is_413(app, client, db, platform_auth):
    app.config["PORTAL_FEEDBACK_MAX_BYTES"] = 4096
    response = post(client, fixture("01") + b"x" * 4096, platform_auth)
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
    assert count(db, FeedbackReport) == 0


def _truncations():
    raw = fixture("08")
    return [raw[:n] for n in range(40, len(raw), 97)]


@pytest.mark.parametrize("raw", [
    *_truncations(),
    fixture("01").replace(b"boundary=\"_----------=F000000000000000000000\"", b"boundary=\"nope\""),
    fixture("02").replace(b"message/rfc822", b"application/octet-stream"),
    b"From: a@b.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=x\n\n"
    b"--x\nContent-Type: message/feedback-report\nContent-Transfer-Encoding: base64\n\n\xff\xfe\x00\x01\n--x--\n",
    b"From: a@b.example\nContent-Type: multipart/mixed; boundary=x\n\n"
    + b"--x\nContent-Type: multipart/mixed; boundary=x\n\n" * 300 + b"--x--\n",
    b"From: a@b.example\nContent-Type: multipart/report; report-type*=us-ascii'en'feedback-report; boundary=y\n\n--y--",
    b"Subject: \xc3\x28 binary \x00 header\r\nContent-Type: message/rfc822\r\n\r\n\x00\x01\x02\xff",
], ids=lambda raw: f"{len(raw)}b")
def test_g12_hostile_reports_never_give_a_5xx(raw, client, db, platform_auth):
    response = post(client, raw, platform_auth)
    assert response.status_code in (202, 422), response.data[:300]
    if response.status_code == 202:
        assert response.json["action"] in ("review", "kept", "none", "complaint")


def test_g12_header_injection_in_a_report_stays_data(client, db, platform_auth, audience):
    mailing_list, (contact, _other) = audience
    raw = MATCHED["01"](contact, mailing_list).replace(
        b"User-Agent: Yahoo!-Mail-Feedback/1.0", b"User-Agent: x\r\n\tBcc: victim@example.net\x00\x07")
    response = post(client, raw, platform_auth)
    assert response.status_code == 202 and response.json["action"] == "complaint"
    report = db.session.get(FeedbackReport, response.json["report_id"])
    assert "\n" not in report.details["user_agent"] and "\x00" not in report.details["user_agent"]
    mail = db.session.scalars(select(OutboxMessage)).one()
    assert mail.recipient == db.session.get(Account, mailing_list.account_id).contact_email
    assert "victim" not in str(mail.payload)


def test_only_platform_keys_may_post_reports(client, create_account, account_auth):
    response = post(client, fixture("01"), account_auth(create_account()))
    assert response.status_code == 403
    assert post(client, fixture("01"), {}).status_code == 401


def test_the_route_is_documented(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "post" in spec["paths"]["/api/v1/feedback/arf"]
