"""Double opt-in called directly: the request and its mail, confirming, declining, resending."""
import pytest
from sqlalchemy import select

from portal.accounts import operations as accounts
from portal.consent.evidence import RequestEvidence
from portal.consent.operations import events_for_contact
from portal.errors import TokenInvalid
from portal.extensions import db
from portal.signup import operations
from portal.subscriptions.models import SignupRequest, Subscription
from portal.suppression import operations as suppressions
from tests.conftest import outbox, webhook_payloads

ON_PAGE = RequestEvidence(ip="203.0.113.9", user_agent="Mozilla/5.0 Test", page_url="https://shop.example/join")
ON_LINK = RequestEvidence(ip="203.0.113.10", user_agent="Mozilla/5.0 Phone")


def events(contact_id: int) -> list[tuple]:
    return [(event.type, event.list_id) for event in events_for_contact(contact_id)]


def subscription(request: SignupRequest) -> Subscription:
    db.session.expire_all()
    return db.session.scalars(select(Subscription).where(Subscription.contact_id == request.contact_id)).one()


@pytest.fixture
def form(create_form, create_webhook):
    """A form for one list, whose account has a webhook endpoint for ``confirmed``."""
    made = create_form(consent_text="Yes, mail me news.")
    create_webhook(made.account_id, "confirmed")
    return made


def test_a_signup_records_the_request_makes_it_pending_and_queues_its_confirmation(form):
    request = operations.request_signup(form, email="Ann@Example.org", evidence=ON_PAGE, locale="en")

    [list_id] = request.list_ids
    text = form.consent_text_for("en")
    assert (request.form_id, request.consent_text_id, request.source) == (form.id, text.id, "form")
    pending = subscription(request)
    assert (pending.list_id, pending.status, pending.signup_request_id) == (list_id, "pending", request.id)
    [mail] = outbox("confirmation")
    assert mail.recipient == "Ann@example.org" and mail.account_id == form.account_id
    requested, sent = events_for_contact(request.contact_id)
    assert (requested.type, requested.source, requested.list_id) == ("signup_requested", f"form:{form.id}", list_id)
    assert (requested.ip, requested.user_agent, requested.page_url) == (ON_PAGE.ip, ON_PAGE.user_agent,
                                                                        ON_PAGE.page_url)
    assert requested.consent_text_id == text.id and requested.evidence["signup_request_id"] == request.id
    assert (sent.type, sent.source, sent.message_ref) == ("confirmation_sent", f"signup_request:{request.id}",
                                                          mail.payload["message_id"])
    assert sent.evidence["outbox_id"] == mail.id


def test_confirm_subscribes_records_the_persons_consent_and_queues_the_receipt(form):
    request = operations.request_signup(form, email="ann@example.org", evidence=ON_PAGE)
    outcome = operations.confirm(request.id, evidence=ON_LINK)

    assert outcome.status == "confirmed" and [item.id for item in outcome.lists] == request.list_ids
    confirmed = subscription(request)
    assert confirmed.status == "confirmed" and confirmed.confirmed_at is not None
    assert db.session.get(SignupRequest, request.id).confirmed_at is not None
    event = events_for_contact(request.contact_id)[-1]
    assert (event.type, event.source, event.ip, event.user_agent) == (
        "confirmed", f"signup_request:{request.id}", ON_LINK.ip, ON_LINK.user_agent)
    assert event.consent_text_id == request.consent_text_id and event.evidence["form_id"] == form.id
    assert [payload["list_id"] for payload in webhook_payloads("confirmed")] == request.list_ids
    assert [mail.recipient for mail in outbox("subscribed")] == ["ann@example.org"]


def test_a_used_link_answers_what_it_did_and_changes_nothing(form):
    request = operations.request_signup(form, email="ann@example.org", evidence=ON_PAGE)
    operations.confirm(request.id, evidence=ON_LINK)
    before = events(request.contact_id)

    assert operations.confirm(request.id, evidence=ON_LINK).status == "already_confirmed"
    assert operations.decline(request.id, evidence=ON_LINK).status == "already_confirmed"
    assert events(request.contact_id) == before and subscription(request).status == "confirmed"
    assert len(outbox("subscribed")) == 1


def test_decline_marks_the_lists_declined_and_the_link_cannot_confirm_later(form):
    request = operations.request_signup(form, email="ann@example.org", evidence=ON_PAGE)
    outcome = operations.decline(request.id, evidence=ON_LINK)

    assert outcome.status == "declined" and subscription(request).status == "declined"
    assert events(request.contact_id)[-1] == ("declined", request.list_ids[0])
    assert operations.confirm(request.id, evidence=ON_LINK).status == "already_declined"
    assert subscription(request).status == "declined" and webhook_payloads("confirmed") == []


def test_an_unknown_request_is_an_invalid_link(app):
    with pytest.raises(TokenInvalid) as caught:
        operations.confirm(987654, evidence=ON_LINK)
    assert caught.value.code == "invalid_link"


def test_a_role_or_suppressed_address_gets_no_request_and_no_mail(form):
    suppressions.add("bob@example.org", scope="account", reason="complaint", account_id=form.account_id)

    assert operations.request_signup(form, email="postmaster@example.org", evidence=ON_PAGE) is None
    assert operations.request_signup(form, email="bob@example.org", evidence=ON_PAGE) is None
    assert db.session.scalars(select(SignupRequest)).all() == [] and outbox("confirmation") == []


def test_a_suspended_accounts_confirmation_is_withheld_and_says_why(form):
    accounts.change_status(form.account, "suspended", reason="test")
    request = operations.request_signup(form, email="ann@example.org", evidence=ON_PAGE)

    assert outbox("confirmation") == []
    withheld = events_for_contact(request.contact_id)[-1]
    assert withheld.type == "confirmation_withheld" and withheld.evidence["reason"] == "account_suspended"


@pytest.mark.app_config(PORTAL_CONFIRMATIONS_PER_DAY=2)
def test_resend_mails_a_fresh_link_within_the_daily_cap_only(form):
    request = operations.request_signup(form, email="ann@example.org", evidence=ON_PAGE)

    assert operations.resend(request.id) is True
    assert operations.resend(request.id) is False  # two mails today: the cap
    assert len(outbox("confirmation")) == 2
    assert [e[0] for e in events(request.contact_id)].count("confirmation_sent") == 2
