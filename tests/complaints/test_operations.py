"""The complaint operations called directly: a complaint and everything it causes, by form or by report."""
import pytest
from sqlalchemy import select

from portal import links
from portal.complaints import operations
from portal.complaints.arf import NotAMessage
from portal.complaints.models import Complaint, FeedbackReport
from portal.consent.evidence import RequestEvidence
from portal.consent.operations import events_for_contact
from portal.errors import TokenInvalid, ValidationFailed
from portal.extensions import db
from portal.subscriptions.models import Subscription
from portal.suppression.models import Suppression
from tests.complaints.support import rewrite
from tests.conftest import webhook_payloads

BROWSER = RequestEvidence(ip="203.0.113.8", user_agent="Mozilla/5.0 Test")


@pytest.fixture
def subscribed(create_subscription, create_webhook):
    """A confirmed subscription whose account has a webhook endpoint for ``complained``."""
    subscription = create_subscription()
    create_webhook(subscription.contact.account_id, "complained")
    return subscription


def statuses(contact) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Subscription.status).where(Subscription.contact_id == contact.id)))


def suppressions(contact) -> list[tuple]:
    return list(db.session.execute(select(Suppression.scope, Suppression.reason, Suppression.source)
                                   .where(Suppression.email == contact.email)))


def test_a_complaint_suppresses_marks_the_subscriptions_writes_the_ledger_and_tells_the_webhooks(subscribed):
    contact = subscribed.contact
    complaint, created = operations.file_complaint(
        contact, category="not_requested", source="web", ledger_source="complaint_form", list_id=subscribed.list_id,
        message_ref="<m1@platform.example>", text="I never\u202e signed up", request_evidence=BROWSER)

    assert created and db.session.get(Complaint, complaint.id).text == "I never signed up"  # bidi control gone
    assert (complaint.account_id, complaint.list_id, complaint.category, complaint.source) == (
        contact.account_id, subscribed.list_id, "not_requested", "web")
    assert statuses(contact) == ["complained"]
    assert suppressions(contact) == [("account", "complaint", "complaint_form")]
    complained, suppressed = [e for e in events_for_contact(contact.id) if e.type in ("complained", "suppressed")]
    assert (complained.source, complained.list_id, complained.message_ref) == (
        "complaint_form", subscribed.list_id, "<m1@platform.example>")
    assert (complained.ip, complained.user_agent) == (BROWSER.ip, BROWSER.user_agent)
    assert complained.evidence == {"complaint_id": complaint.id, "category": "not_requested",
                                   "channel": "web_complaint", "lists": [subscribed.list_id]}
    assert suppressed.evidence == {"scope": "account", "reason": "complaint", "complaint_id": complaint.id}
    assert complaint.evidence["ledger_event_id"] == complained.id and complaint.evidence["suppression_added"]
    assert webhook_payloads("complained") == [{"contact_id": contact.id, "email": contact.email,
                                               "list_id": subscribed.list_id, "category": "not_requested",
                                               "source": "web"}]


def test_the_same_complaint_twice_counts_once(subscribed):
    first, _ = operations.file_complaint(subscribed.contact, category="other", source="web", ledger_source="t",
                                         message_ref="<m1@platform.example>")
    again, created = operations.file_complaint(subscribed.contact, category="not_requested", source="web",
                                               ledger_source="t", message_ref="<m1@platform.example>")

    assert not created and again.id == first.id and again.category == "other"
    assert db.session.scalars(select(Complaint)).all() == [first]
    assert [e.type for e in events_for_contact(subscribed.contact.id)].count("complained") == 1
    assert len(webhook_payloads("complained")) == 1


def test_an_unknown_category_is_refused_and_changes_nothing(subscribed):
    with pytest.raises(ValidationFailed) as caught:
        operations.file_complaint(subscribed.contact, category="rude", source="web", ledger_source="t")
    assert caught.value.code == "validation_failed"
    assert db.session.scalars(select(Complaint)).all() == [] and suppressions(subscribed.contact) == []
    assert statuses(subscribed.contact) == ["confirmed"]


def test_another_accounts_list_is_not_named_on_the_complaint(subscribed, create_list):
    foreign = create_list()
    complaint, _ = operations.file_complaint(subscribed.contact, category="other", source="web", ledger_source="t",
                                             list_id=foreign.id)
    assert complaint.list_id is None


def test_complain_by_link_files_the_links_complaint_and_a_bad_link_is_refused(subscribed):
    token = links.target_token("complaint", links.Target(subscribed.contact_id, subscribed.list_id,
                                                         "<m9@platform.example>"))
    complaint = operations.complain_by_link(token, category="not_requested", text=None, request_evidence=BROWSER)

    assert (complaint.contact_id, complaint.list_id, complaint.message_ref) == (
        subscribed.contact_id, subscribed.list_id, "<m9@platform.example>")
    [event] = [e for e in events_for_contact(subscribed.contact_id) if e.type == "complained"]
    assert event.source == "complaint_form" and event.ip == BROWSER.ip
    with pytest.raises(TokenInvalid) as caught:
        operations.complain_by_link(token[:-3] + "AAA", category="other", text=None, request_evidence=BROWSER)
    assert caught.value.code == "invalid_link"
    assert len(db.session.scalars(select(Complaint)).all()) == 1


def test_a_feedback_report_is_stored_once_and_files_the_persons_complaint(subscribed):
    contact = subscribed.contact
    raw = rewrite("01", to=contact.email, rcpt_to=contact.email)
    report, created = operations.ingest_report(raw)

    assert created and (report.matched, report.action, report.contact_id) == (True, "complaint", contact.id)
    assert report.details["matched_via"] == "original_rcpt_to"
    [complaint] = db.session.scalars(select(Complaint)).all()
    assert (complaint.source, complaint.feedback_report_id) == ("feedback_loop", report.id)
    assert report.details["complaint_id"] == complaint.id
    assert suppressions(contact) == [("account", "complaint", f"feedback:{report.id}")]
    again, created = operations.ingest_report(raw)
    assert not created and again.id == report.id
    assert len(db.session.scalars(select(FeedbackReport)).all()) == 1
    assert len(db.session.scalars(select(Complaint)).all()) == 1


def test_bytes_that_are_not_a_message_are_refused_and_nothing_is_stored(app):
    with pytest.raises(NotAMessage) as caught:
        operations.ingest_report(b"\x00\x01 not a mail")
    assert caught.value.code == "not_a_message"
    assert db.session.scalars(select(FeedbackReport)).all() == []
