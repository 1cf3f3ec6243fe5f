"""The whole double-opt-in loop through a real SMTP server, and SMTP being down."""
from __future__ import annotations

from datetime import timedelta

from portal.consent.models import EventType
from portal.db import utcnow
from portal.outbox import worker
from portal.outbox.models import OutboxStatus
from portal.subscriptions.models import SubscriptionStatus
from portal.subscriptions.operations import find_contact
from tests.conftest import free_port, other_app, outbox
from tests.subscriptions.helpers import CONFIRM_LINK, event_types, signup, subscription_of


def _deliver_with(app, **mail_config):
    """Run one worker pass on an app on the same database with this mail config."""
    with other_app(app, **mail_config):
        return worker.run_once()


def test_signup_to_confirmed_through_real_smtp(app, client, create_form, smtp_server):
    form = create_form()
    response = signup(client, form, headers={"Referer": "https://shop.example/news"},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 303
    assert response.headers["Location"].split("?")[0].endswith(f"/f/{form.id}/thanks")

    report = _deliver_with(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    assert len(report.sent) == 1
    (mail,) = smtp_server.messages
    assert mail["To"] == "ann@example.org" and mail["Message-ID"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert form.account.postal_address in text and form.account.postal_address in html
    assert form.lists[0].name in text and "If you do nothing, nothing happens" in text
    path = CONFIRM_LINK.search(text).group(1)
    assert path in html

    assert client.get(path).status_code == 200  # the page; nothing changes yet
    contact = find_contact(form.account_id, "ann@example.org")
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.PENDING

    response = client.post(path, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert (response.status_code, response.headers["Location"]) == (303, path)
    assert b"you are subscribed" in client.get(path).data
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.CONFIRMED
    assert event_types(contact.id) == [EventType.SIGNUP_REQUESTED, EventType.CONFIRMATION_SENT,
                                       EventType.CONFIRMED]


def test_ledger_events_carry_the_evidence(app, client, create_form):
    form = create_form(allowed_origins=["https://shop.example"])  # a page URL is kept only on these
    signup(client, form, page_url="https://shop.example/join", headers={"User-Agent": "Firefox/140"},
           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    path = CONFIRM_LINK.search(outbox()[0].payload["text"]).group(1)
    client.post(path, headers={"User-Agent": "Safari/18"}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    from portal.consent.operations import events_for_contact

    contact = find_contact(form.account_id, "ann@example.org")
    requested, sent, confirmed = events_for_contact(contact.id)
    assert (requested.ip, requested.user_agent, requested.page_url) == (
        "203.0.113.9", "Firefox/140", "https://shop.example/join")
    assert requested.source == f"form:{form.id}" and requested.consent_text_id == form.consent_text.id
    assert requested.evidence["consent_text_version"] == 1
    assert sent.message_ref == outbox()[0].payload["message_id"]
    assert (confirmed.ip, confirmed.user_agent) == ("198.51.100.7", "Safari/18")
    assert confirmed.consent_text_id == form.consent_text.id


def test_smtp_down_answers_at_once_and_delivers_later(app, client, create_form, smtp_server):
    form = create_form()
    assert signup(client, form).status_code == 303  # no SMTP in the request at all

    down = _deliver_with(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    assert down.retried and not down.sent
    (message,) = outbox()
    assert message.status == OutboxStatus.PENDING and message.attempts == 1 and message.last_error

    later = utcnow() + timedelta(hours=1)
    with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port):
        assert len(worker.run_once(now=later).sent) == 1
    assert len(smtp_server.messages) == 1
    assert CONFIRM_LINK.search(smtp_server.messages[0].get_body(("plain",)).get_content())
