"""The account policy state machine (SPEC section 5): warn, suspend, review, sending blocks."""
import pytest
from sqlalchemy import select

from portal.accounts import policy as account_policy
from portal.complaints import policy
from portal.complaints import operations as complaints
from portal.complaints.models import ReviewCase
from portal.db import utcnow
from portal.outbox.models import OutboxMessage
from tests.complaints.support import review_args


@pytest.fixture
def complain(db, create_contact, create_list, create_subscription):
    """A function: a new contact of ``account`` complains (through the operation); committed."""
    def make(account, message_ref=None):
        contact = create_contact(account)
        complaint, _ = complaints.file_complaint(contact, category="not_requested", source="web",
                                                 ledger_source="test", message_ref=message_ref)
        db.session.commit()
        db.session.refresh(account)
        return complaint
    return make


def mails(db, kind):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


@pytest.mark.parametrize("status, postal, block", [
    ("active", "Jl. A 1", None), ("warned", "Jl. A 1", None), ("suspended", "Jl. A 1", "account_suspended"),
    ("deactivated", "Jl. A 1", "account_deactivated"), ("active", None, "no_postal_address"),
    ("active", "   ", "no_postal_address"), ("suspended", None, "account_suspended")])
def test_sending_block(status, postal, block, create_account):
    account = create_account(postal_address="x")
    account.status, account.postal_address = status, postal
    assert account_policy.sending_block(account) == block


def test_first_complaint_warns_and_mails_the_account(db, create_account, complain):
    account = create_account()
    complaint = complain(account, "<m1@x>")
    assert account.status == "warned"
    [change] = account.status_changes
    assert (change.from_status, change.to_status, change.reason) == ("active", "warned", "complaint")
    assert change.evidence["complaint_ids"] == [complaint.id] and change.evidence["message_refs"] == ["<m1@x>"]
    [mail] = mails(db, "account_warning")
    assert mail.recipient == account.contact_email and mail.account_id == account.id
    assert mail.payload["text"] and mail.payload["html"]


def test_further_complaint_suspends_and_opens_a_review(db, create_account, complain):
    account = create_account()
    first, second = complain(account, "<m1@x>"), complain(account, "<m2@x>")
    assert account.status == "suspended"
    review = policy.open_review(account)
    assert review.evidence["complaint_ids"] == [second.id] and review.evidence["rule"] == "complaint"
    assert account.status_changes[-1].evidence["review_id"] == review.id
    assert len(mails(db, "account_suspended")) == 1 and len(mails(db, "account_warning")) == 1
    third = complain(account, "<m3@x>")  # while suspended: evidence for the review, nothing else
    db.session.refresh(review)
    assert review.evidence["complaint_ids"] == [second.id, third.id]
    assert "<m3@x>" in review.evidence["message_refs"]
    assert len(account.status_changes) == 2 and len(mails(db, "account_suspended")) == 1
    assert first.id not in review.evidence["complaint_ids"]


def test_thresholds_are_configurable(app, create_account, complain):
    app.config.update(PORTAL_COMPLAINTS_TO_WARN=2, PORTAL_COMPLAINTS_TO_SUSPEND=3)
    account = create_account()
    complain(account)
    assert account.status == "active"
    complain(account)
    assert account.status == "warned"
    complain(account), complain(account)
    assert account.status == "warned"  # counted from the warning on: 2 of 3
    complain(account)
    assert account.status == "suspended"


def test_thresholds_come_from_the_environment(app, monkeypatch):
    monkeypatch.setenv("PORTAL_COMPLAINTS_TO_WARN", "4")
    assert policy.setting("PORTAL_COMPLAINTS_TO_WARN") == 4
    assert policy.setting("PORTAL_COMPLAINT_RATE_LIMIT") == 0.0  # the rate rule is off by default


def _contacted(db, create_contact, create_subscription, mailing_list, n):
    for _ in range(n):
        create_subscription(create_contact(mailing_list.account), mailing_list, last_contacted_at=utcnow())


def test_rate_rule_is_off_by_default(app, db, create_list, create_contact, create_subscription, complain):
    app.config.update(PORTAL_COMPLAINTS_TO_WARN=5, PORTAL_COMPLAINT_RATE_MIN_VOLUME=3)
    mailing_list = create_list()
    _contacted(db, create_contact, create_subscription, mailing_list, 3)
    account = mailing_list.account
    complain(account)
    assert account.status == "active"


def test_rate_rule_warns_above_the_limit_with_enough_volume(app, db, create_list, create_contact,
                                                            create_subscription, complain):
    app.config.update(PORTAL_COMPLAINTS_TO_WARN=5, PORTAL_COMPLAINT_RATE_LIMIT=0.3,
                      PORTAL_COMPLAINT_RATE_MIN_VOLUME=3)
    mailing_list = create_list()
    account = mailing_list.account
    _contacted(db, create_contact, create_subscription, mailing_list, 2)
    complain(account)
    assert account.status == "active"  # 1 of 2 contacted: too little volume to judge
    _contacted(db, create_contact, create_subscription, mailing_list, 2)
    complain(account)  # 2 of 4 contacted: 0.5 > 0.3
    assert account.status == "warned"
    change = account.status_changes[-1]
    assert change.reason == "complaint_rate"
    assert change.evidence["rate"] == {"complaints": 2, "contacted": 4, "window_days": 30, "rate": 0.5}


def test_review_reinstates_and_the_count_starts_again(db, runner, create_account, complain):
    account = create_account()
    complain(account), complain(account)
    result = runner.invoke(args=review_args(account.id, "--decision", "reinstate", "--note", "ok",
                                            "--actor", "ops:ana"))
    assert result.exit_code == 0, result.output
    db.session.refresh(account)
    assert account.status == "active"
    change = account.status_changes[-1]
    assert (change.reason, change.actor, change.evidence["note"]) == ("review:reinstate", "ops:ana", "ok")
    review = db.session.scalars(select(ReviewCase)).one()
    assert (review.status, review.decision, review.note, review.actor) == ("closed", "reinstate", "ok", "ops:ana")
    assert review.closed_at is not None
    complain(account)
    assert account.status == "warned"


@pytest.mark.parametrize("status", ["active", "warned", "deactivated"])
def test_review_is_refused_without_an_open_review(status, db, runner, create_account):
    account = create_account()
    account.status = status
    db.session.commit()
    result = runner.invoke(args=review_args(account.id, "--decision", "reinstate", "--note", "x"))
    assert result.exit_code != 0 and "no open review" in result.output
    db.session.refresh(account)
    assert account.status == status and account.status_changes == []


def test_review_needs_a_note_and_a_known_account(db, runner, create_account, complain):
    account = create_account()
    complain(account), complain(account)
    result = runner.invoke(args=review_args(account.id, "--decision", "deactivate", "--note", "  "))
    assert result.exit_code != 0 and "needs a note" in result.output
    result = runner.invoke(args=review_args("nope", "--decision", "deactivate", "--note", "x"))
    assert result.exit_code != 0 and "No such account" in result.output
    db.session.refresh(account)
    assert account.status == "suspended"


def test_transitions_outside_the_machine_are_refused(create_account):
    account = create_account()
    with pytest.raises(policy.PolicyRefused):
        policy.transition(account, "suspend", reason="x", evidence={})
    with pytest.raises(policy.PolicyRefused):
        policy.transition(account, "reinstate", reason="x", evidence={})


def test_the_api_shows_history_and_the_open_review(client, db, platform_auth, runner, create_account, complain):
    account = create_account()
    complain(account), complain(account)
    body = client.get(f"/api/v1/accounts/{account.id}", headers=platform_auth).json
    assert body["status"] == "suspended" and body["can_send"] is False
    assert body["sending_block"] == "account_suspended"
    assert [(c["from_status"], c["to_status"], c["reason"]) for c in body["status_history"]] == [
        ("active", "warned", "complaint"), ("warned", "suspended", "complaint")]
    assert body["open_review"]["status"] == "open" and body["open_review"]["evidence"]["complaint_ids"]
    runner.invoke(args=review_args(account.id, "--decision", "deactivate", "--note", "bought list"))
    body = client.get(f"/api/v1/accounts/{account.id}", headers=platform_auth).json
    assert body["status"] == "deactivated" and body["open_review"] is None
    assert body["sending_block"] == "account_deactivated"
    assert body["status_history"][-1]["evidence"]["note"] == "bought list"
