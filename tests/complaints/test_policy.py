"""The account policy state machine (SPEC section 5): warn, suspend, review, sending blocks."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts import policy as account_policy
from portal.complaints import policy, rates
from portal.complaints import operations as complaints
from portal.complaints.models import Complaint, ReviewCase
from portal.db import utcnow
from tests.complaints.support import review_args
from tests.conftest import outbox


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
    [mail] = outbox("account_warning")
    assert mail.recipient == account.contact_email and mail.account_id == account.id
    for body in (mail.payload["text"], mail.payload["html"]):  # a small sender: no rate of nothing
        assert "Last 24h: 1 complaint, and no delivered message reported" in body
        assert "1 complaints" not in body and "0 delivered" not in body


def test_further_complaint_suspends_and_opens_a_review(db, create_account, complain):
    account = create_account()
    first, second = complain(account, "<m1@x>"), complain(account, "<m2@x>")
    assert account.status == "suspended"
    review = policy.open_review(account)
    assert review.evidence["complaint_ids"] == [second.id] and review.evidence["rule"] == "complaint"
    assert account.status_changes[-1].evidence["review_id"] == review.id
    assert len(outbox("account_suspended")) == 1 and len(outbox("account_warning")) == 1
    third = complain(account, "<m3@x>")  # while suspended: evidence for the review, nothing else
    db.session.refresh(review)
    assert review.evidence["complaint_ids"] == [second.id, third.id]
    assert "<m3@x>" in review.evidence["message_refs"]
    assert len(account.status_changes) == 2 and len(outbox("account_suspended")) == 1
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


def test_settings_come_from_the_environment_with_the_older_names_as_aliases():
    """Read in config.py; PORTAL_COMPLAINT_RATE_LIMIT and _WINDOW_DAYS keep working as aliases."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json; from portal.config import Config as C; print(json.dumps([C.PORTAL_COMPLAINTS_TO_WARN, "
            "C.PORTAL_COMPLAINT_RATE_REVIEW, C.PORTAL_COMPLAINT_LONG_WINDOW_DAYS, C.PORTAL_COMPLAINT_RATE_WARN, "
            "C.PORTAL_COMPLAINT_RATE_SUSPEND, C.PORTAL_COMPLAINT_RATE_MIN_VOLUME]))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_COMPLAINT")}

    def read(**env):
        out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True,
                             text=True, check=True).stdout
        return json.loads(out)

    assert read() == [1, 0.003, 30, 0.001, 0.01, 1000]
    assert read(PORTAL_COMPLAINTS_TO_WARN="4", PORTAL_COMPLAINT_RATE_LIMIT="0.005",
                PORTAL_COMPLAINT_RATE_WINDOW_DAYS="14")[:3] == [4, 0.005, 14]
    assert read(PORTAL_COMPLAINT_RATE_REVIEW="0.002", PORTAL_COMPLAINT_RATE_LIMIT="0.005",
                PORTAL_COMPLAINT_LONG_WINDOW_DAYS="7", PORTAL_COMPLAINT_RATE_WINDOW_DAYS="14")[1:3] == [0.002, 7]


def test_a_big_sender_below_the_review_line_is_warned_not_suspended(app, db, create_account, create_deliveries,
                                                                     complain):
    account = create_account()
    create_deliveries(account, 4000)  # a month's worth, 0.1% of it is 4 complaints
    for _ in range(3):
        complain(account)
    assert account.status == "active"  # 3 / 4000 = 0.075%: under the warning line
    warned_by = complain(account)
    assert account.status == "warned"  # 4 / 4000 = 0.1%
    change = account.status_changes[-1]
    assert change.reason == "complaint_rate" and change.evidence["window"] == "24h"
    short, long = change.evidence["rates"]
    assert (short["window"], short["complaints"], short["delivered"], short["rate"]) == ("24h", 4, 4000, 0.001)
    assert long["window"] == "30d" and long["judged"] is True
    assert warned_by.id in change.evidence["complaint_ids"] and len(change.evidence["samples"]) == 4
    assert change.evidence["samples"][-1] == {"id": warned_by.id, "category": "not_requested", "source": "web",
                                              "message_ref": None, "list_id": None,
                                              "at": change.evidence["samples"][-1]["at"]}
    assert change.evidence["thresholds"]["review_rate"] == 0.003
    for _ in range(7):
        complain(account)
    assert account.status == "warned" and policy.open_review(account) is None  # 11 / 4000 = 0.275%
    assert len(outbox("account_warning")) == 1 and outbox("account_suspended") == []


def test_the_review_line_opens_a_review_and_the_account_keeps_sending(app, db, create_account,
                                                                      create_deliveries, complain):
    account = create_account()
    create_deliveries(account, 1000)
    for _ in range(3):
        complain(account)  # 1 warns (0.1%), 3 reach 0.3%
    assert account.status == "warned"
    review = policy.open_review(account)
    assert review.evidence["rule"] == "complaint_rate_review" and review.evidence["rates"][0]["complaints"] == 3
    assert account_policy.sending_block(account) is None
    [first, second] = outbox("account_warning")
    assert f"review {review.id}" in second.payload["text"]


def test_an_abusive_rate_suspends_at_once(app, db, create_account, create_deliveries, complain):
    app.config.update(PORTAL_COMPLAINT_RATE_MIN_VOLUME=50)
    account = create_account()
    create_deliveries(account, 80)
    complain(account)  # 1 / 80 = 1.25% >= 1%
    assert account.status == "suspended"
    [change] = account.status_changes
    assert (change.from_status, change.reason) == ("active", "complaint_rate_abusive")
    review = policy.open_review(account)
    assert change.evidence["review_id"] == review.id and review.evidence["rule"] == "complaint_rate_abusive"
    [mail] = outbox("account_suspended")
    assert "1.25%" in mail.payload["text"] and "abusive" in mail.payload["text"]


def test_old_deliveries_and_complaints_leave_the_short_window(app, db, create_account, create_deliveries, complain):
    account = create_account()
    create_deliveries(account, 2000, at=utcnow() - timedelta(days=3))
    create_deliveries(account, 10)
    old = complain(account)
    old.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    complain(account)
    short, long = rates.current_rates(account.id)
    assert (short.complaints, short.delivered, short.judged) == (1, 10, False)
    assert (long.complaints, long.delivered, long.judged) == (2, 2010, True)
    create_deliveries(account, 5, at=utcnow() - timedelta(days=31))
    assert rates.current_rates(account.id)[1].delivered == 2010


def test_too_frequent_is_counted_apart_and_moves_no_account(app, db, create_account, create_deliveries,
                                                            create_contact):
    small, big = create_account(), create_account()
    create_deliveries(big, 1000)
    for account in (small, big):
        for _ in range(4):
            complaints.file_complaint(create_contact(account), category="too_frequent", source="web",
                                      ledger_source="test")
        db.session.commit()
        db.session.refresh(account)
        assert account.status == "active" and account.status_changes == []
    short, long = rates.current_rates(big.id)
    assert (short.complaints, short.too_frequent, short.too_frequent_rate) == (0, 4, 0.004)


def test_a_complaint_counts_once_per_person_and_message(app, db, create_account, create_deliveries, create_contact):
    app.config.update(PORTAL_COMPLAINTS_TO_WARN=10)
    account = create_account()
    person, other = create_contact(account), create_contact(account)
    for contact, ref in ((person, "<a@x>"), (person, "<a@x>"), (person, "<b@x>"), (other, "<a@x>")):
        complaints.file_complaint(contact, category="not_requested", source="web", ledger_source="test",
                                  message_ref=ref)
        complaints.file_complaint(contact, category="not_requested", source="feedback_loop",
                                  ledger_source="test", message_ref=ref)
    db.session.commit()
    assert [r.complaints for r in rates.current_rates(account.id)] == [3, 3]


def test_a_too_frequent_complaint_suppresses_the_person(client, db, create_account, create_list, create_contact,
                                                       create_subscription):
    from portal import links
    from portal.subscriptions.models import Subscription
    from portal.suppression import operations as suppressions

    account = create_account()
    mailing_list = create_list(account)
    contact = create_contact(account)
    create_subscription(contact, mailing_list)
    token = links.target_token("complaint", links.Target(contact.id, mailing_list.id, "<weekly-9@shop.test>"))
    assert client.post(f"/complaint/{token}", data={"category": "too_frequent"}).status_code == 303
    [entry] = suppressions.entries_for(contact.email, account.id)
    assert (entry.reason, entry.list_id) == ("complaint", None)  # the whole account, as any complaint
    assert db.session.scalars(select(Subscription.status)).all() == ["complained"]
    db.session.refresh(account)
    assert account.status == "active"  # counted apart: it moves no account
    assert [(r.complaints, r.too_frequent) for r in rates.current_rates(account.id)] == [(0, 1), (0, 1)]


def test_one_complaint_through_the_web_form_and_a_feedback_report_counts_once(
        client, db, create_account, create_list, create_contact, create_subscription, platform_auth):
    from portal import links
    from portal.complaints.models import Complaint
    from tests.complaints.support import list_unsubscribe_for, rewrite

    account = create_account()
    mailing_list = create_list(account)
    contact = create_contact(account)
    create_subscription(contact, mailing_list)
    ref = "<promo-42@shop.test>"
    token = links.target_token("complaint", links.Target(contact.id, mailing_list.id, ref))
    assert client.post(f"/complaint/{token}", data={"category": "not_requested"}).status_code == 303
    report = rewrite("01", to=contact.email, list_unsubscribe=list_unsubscribe_for(contact, mailing_list, ref))
    response = client.post("/api/v1/feedback/arf", data=report,
                           headers={**platform_auth, "Content-Type": "message/rfc822"})
    assert response.status_code == 202 and response.json["matched"] is True
    assert db.session.execute(select(Complaint.source, Complaint.message_ref)).all() == [("web", ref)]
    assert [r.complaints for r in rates.current_rates(account.id)] == [1, 1]
    db.session.refresh(account)
    assert [c.reason for c in account.status_changes] == ["complaint"]  # warned once, not suspended


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


def test_transitions_outside_the_machine_are_refused(db, create_account):
    account = create_account()
    with pytest.raises(policy.PolicyRefused):
        complaints.transition(account, "reinstate", reason="x", evidence={})
    account.status = "deactivated"
    for name in ("suspend", "warn", "warn_again", "reinstate", "deactivate"):
        with pytest.raises(policy.PolicyRefused):
            complaints.transition(account, name, reason="x", evidence={})


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


def test_suspend_keeps_the_review_open_and_warn_again_closes_it(db, create_account, create_deliveries, complain):
    account = create_account()
    create_deliveries(account, 1000)
    for _ in range(3):
        complain(account)  # 0.3%: warned, under review
    review = policy.open_review(account)
    complaints.decide_review(account, "suspend", note="looks like a bought list", actor="operator:ana")
    db.session.commit()
    assert account.status == "suspended" and policy.open_review(account).id == review.id
    with pytest.raises(policy.PolicyRefused, match="cannot suspend an account that is suspended"):
        complaints.decide_review(account, "suspend", note="again", actor="operator:ana")
    db.session.rollback()
    complaints.decide_review(account, "warn_again", note="permission shown", actor="operator:ana")
    db.session.commit()
    assert account.status == "warned" and policy.open_review(account) is None
    db.session.refresh(review)
    assert (review.status, review.decision) == ("closed", "warn_again")
    assert [d["decision"] for d in review.evidence["decisions"]] == ["suspend", "warn_again"]
    change = account.status_changes[-1]
    assert (change.reason, change.actor, change.evidence["note"]) == ("review:warn_again", "operator:ana",
                                                                     "permission shown")
    assert change.evidence["rates"][0]["complaints"] == 3 and change.evidence["samples"]
    assert "warns your account again" in outbox("account_warning")[-1].payload["text"]


def test_the_warning_mail_gives_rates_limits_categories_and_samples_in_the_accounts_language(
        db, create_account, create_deliveries, create_list, create_contact):
    account = create_account(locale="id")
    mailing_list = create_list(account, name="Promo Mingguan")
    create_deliveries(account, 1000)
    contact = create_contact(account, email="budi.santoso@example.org", name="Budi Santoso")
    complaints.file_complaint(contact, category="not_requested", source="web", ledger_source="test",
                              list_id=mailing_list.id, message_ref="<promo-7@shop.test>")
    db.session.commit()
    [mail] = outbox("account_warning")
    text = mail.payload["text"]
    assert "Tingkat keluhan Anda" in text and "0.10%" in text and "0.30%" in text and "1.00%" in text
    assert "24h terakhir: 1 keluhan dari 1000 pesan terkirim (0.10%)" in text
    assert "tidak diminta" in text and "Promo Mingguan" in text
    # The Message-ID may name the person (or map to them in the sender's logs): the complaint's
    # reference stands in for it.
    complaint = db.session.scalars(select(Complaint)).one()
    assert "promo-7" not in text and "promo-7" not in mail.payload["html"]
    assert f"Referensi: {complaint.id}" in text
    assert "Yang perlu Anda lakukan" in text
    assert "budi" not in text.lower() and "budi" not in mail.payload["html"].lower()


def test_the_cli_takes_every_decision_of_the_console(db, runner, create_account, complain):
    account = create_account()
    complain(account), complain(account)
    result = runner.invoke(args=review_args(account.id, "--decision", "warn_again", "--note", "first time",
                                            "--actor", "operator:budi"))
    assert result.exit_code == 0 and "is now warned" in result.output, result.output
    db.session.refresh(account)
    change = account.status_changes[-1]
    assert (change.from_status, change.to_status, change.reason, change.actor) == (
        "suspended", "warned", "review:warn_again", "operator:budi")
    result = runner.invoke(args=review_args(account.id, "--decision", "suspend", "--note", "x"))
    assert result.exit_code != 0 and "no open review" in result.output


def test_the_cli_says_a_suspension_keeps_the_review_open(db, runner, create_account, create_deliveries, complain):
    account = create_account()
    create_deliveries(account, 1000)
    for _ in range(3):
        complain(account)  # 0.3%: warned, under review
    review = policy.open_review(account)
    result = runner.invoke(args=review_args(account.id, "--decision", "suspend", "--note", "bought list?"))
    assert result.exit_code == 0, result.output
    assert f"review {review.id} stays open for the final decision: account {account.id} is now suspended" \
        in result.output and "closed" not in result.output
    result = runner.invoke(args=review_args(account.id, "--decision", "deactivate", "--note", "bought list"))
    assert f"review {review.id} closed: account {account.id} is now deactivated" in result.output


def fbl_complaint(db, contact, subject: bytes, **addressed):
    """A feedback-loop complaint of ``contact`` about a message with this Subject (``addressed``:
    the report's To, Original-Rcpt-To and List-Unsubscribe, as :func:`rewrite` takes them)."""
    from tests.complaints.support import rewrite

    raw = rewrite("01", **{"to": contact.email, **addressed}).replace(b"Subject: Nyaaaaaaaan", b"Subject: " + subject)
    row, _ = complaints.ingest_report(raw)
    db.session.commit()
    return db.session.scalars(select(Complaint).where(Complaint.feedback_report_id == row.id)).one()


def test_the_warning_mail_erases_the_person_from_a_feedback_reports_subject(db, create_account, create_contact):
    account = create_account()
    contact = create_contact(account, email="budi.santoso@example.org", name="Budi Santoso")
    complaint = fbl_complaint(db, contact, b"Halo Budi, promo!")  # the first name alone names them too
    [mail] = outbox("account_warning")
    for body in (mail.payload["text"], mail.payload["html"]):
        assert "Subject: [erased]" in body and "budi" not in body.lower()
        assert "000000000000000000000000.smtp" not in body  # the original's Message-ID
        assert f"Reference: {complaint.id}" in body or f"Reference</th><td>{complaint.id}" in body


@pytest.mark.parametrize("subject, addressed, shown", [
    (b"Halo Budi, promo!", {"to": "Budi Santoso <budi.santoso@example.org>"}, "[erased]"),  # a word of the name
    (b"Promo for budi.santoso", {}, "[erased]"),  # the address's local part
    (b"Weekly promo", {}, "Weekly promo"),
    (b"Weekly promo", {"to": "undisclosed-recipients:;", "rcpt_to": "", "list_unsubscribe": True},
     "[erased]")])  # the report names nobody: nothing to check the Subject against, so it is withheld
def test_the_subject_is_erased_even_when_the_contact_is_gone(db, create_account, create_contact, create_list,
                                                             subject, addressed, shown):
    from portal.complaints import emails
    from tests.complaints.support import list_unsubscribe_for

    account = create_account()
    contact = create_contact(account, email="budi.santoso@example.org", name="Budi Santoso")
    if addressed.get("list_unsubscribe"):
        addressed = dict(addressed, list_unsubscribe=list_unsubscribe_for(contact, create_list(account)))
    complaint = fbl_complaint(db, contact, subject, **addressed)
    complaint.contact_id = None  # the person's row is gone: the report alone says who they were
    db.session.flush()
    assert emails.subject_of(complaint) == shown
