"""``/complaint/<token>``: the subscriber's report form."""

import pytest
from sqlalchemy import func, select

from portal import links
from portal.accounts.models import Account
from portal.complaints.models import Complaint
from portal.consent.models import ConsentEvent
from portal.subscriptions.models import Subscription
from portal.suppression import operations as suppressions
from portal.suppression.models import Suppression
from tests.complaints.support import bodies, deliver_outbox, review_args
from tests.pagetools import csrf_token, refusal


@pytest.fixture
def subscribed(create_list, create_contact, create_subscription):
    """A contact confirmed on two lists of one account, and a complaint link for one of them."""
    first = create_list()
    second = create_list(first.account)
    contact = create_contact(first.account)
    create_subscription(contact, first)
    create_subscription(contact, second)
    token = links.target_token("complaint", links.Target(contact.id, first.id, "<msg-1@platform>"))
    return contact, first, token


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_get_shows_the_form_and_changes_nothing(client, db, subscribed):
    contact, mailing_list, token = subscribed
    response = client.get(f"/complaint/{token}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'method="post"' in page and 'value="not_requested"' in page and 'value="too_frequent"' in page
    assert mailing_list.name in page and "Jl. Merdeka 1" in page
    assert contact.email not in page
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"
    assert count(db, Complaint) == 0 and count(db, Suppression) == 0 and count(db, ConsentEvent) == 2


def test_i_tampered_token_is_404_and_changes_nothing(client, db, subscribed):
    _contact, _list, token = subscribed
    assert refusal(client.get(f"/complaint/{token}x")) == (404, "invalid_link")
    assert refusal(client.post(f"/complaint/{token}x", data={"category": "offensive"})) == (404, "invalid_link")
    unsubscribe = links.target_token("unsubscribe", links.Target(1, None))
    assert refusal(client.post(f"/complaint/{unsubscribe}", data={"category": "offensive"})) == (404, "invalid_link")
    assert count(db, Complaint) == 0


def test_post_records_the_complaint_and_its_consequences(client, db, subscribed):
    contact, mailing_list, token = subscribed
    response = client.post(f"/complaint/{token}", data={"category": "offensive", "text": "Rude\r\nstuff"},
                           headers={"User-Agent": "TestBrowser/1"})
    assert response.status_code == 303 and response.location == f"/complaint/{token}"  # Post/Redirect/Get
    assert "Thank you" in client.get(response.location).get_data(as_text=True)
    complaint = db.session.scalars(select(Complaint)).one()
    assert (complaint.source, complaint.category, complaint.text) == ("web", "offensive", "Rude\nstuff")
    assert complaint.message_ref == "<msg-1@platform>" and complaint.list_id == mailing_list.id
    assert complaint.evidence["channel"] == "web_complaint" and complaint.evidence["suppression_added"] is True
    [entry] = suppressions.entries_for(contact.email, contact.account_id)
    assert (entry.scope, entry.reason) == ("account", "complaint")
    assert set(db.session.scalars(select(Subscription.status).where(Subscription.contact_id == contact.id))) \
        == {"complained"}
    events = db.session.scalars(select(ConsentEvent).where(ConsentEvent.type == "complained")).all()
    assert len(events) == 1 and (events[0].user_agent, events[0].ip) == ("TestBrowser/1", "127.0.0.1")
    assert events[0].evidence["complaint_id"] == complaint.id and events[0].message_ref == "<msg-1@platform>"


def test_posting_twice_counts_once(client, db, subscribed):
    _contact, mailing_list, token = subscribed
    first = client.post(f"/complaint/{token}", data={"category": "offensive"})
    before = (count(db, Complaint), count(db, ConsentEvent), count(db, Suppression))
    second = client.post(f"/complaint/{token}", data={"category": "illegal", "text": "again"})
    assert first.get_data() == second.get_data()
    assert (count(db, Complaint), count(db, ConsentEvent), count(db, Suppression)) == before
    account = db.session.get(Account, mailing_list.account_id)
    db.session.refresh(account)
    assert account.status == "warned"  # one complaint, not two


@pytest.mark.parametrize("data", [{}, {"category": "spam"}, {"category": "other", "text": "x" * 2001}])
def test_invalid_posts_are_refused_and_change_nothing(data, client, db, subscribed):
    _contact, _list, token = subscribed
    response = client.post(f"/complaint/{token}", data=data)
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    assert count(db, Complaint) == 0 and count(db, Suppression) == 0


def test_free_text_is_sanitised(client, db, subscribed):
    _contact, _list, token = subscribed
    text = "Cafe\u0301\x00 \x1b[31mred\u202e\nBcc: x@y.example\r\n\t<script>"
    client.post(f"/complaint/{token}", data={"category": "other", "text": text})
    stored = db.session.scalars(select(Complaint.text)).one()
    assert stored == "Café [31mred\nBcc: x@y.example\n\t<script>"


def test_the_web_complaint_warns_by_mail_then_suspends_then_review(client, db, subscribed, smtp_server, runner,
                                                                   create_contact, create_subscription):
    contact, mailing_list, token = subscribed
    account = db.session.get(Account, mailing_list.account_id)
    client.post(f"/complaint/{token}", data={"category": "too_frequent"})
    deliver_outbox(smtp_server.port)
    db.session.refresh(account)
    assert smtp_server.messages == [] and account.status == "active"  # too_frequent is counted apart

    def complain_as_another(ref):
        other = create_contact(account)
        create_subscription(other, mailing_list)
        other_token = links.target_token("complaint", links.Target(other.id, mailing_list.id, ref))
        client.post(f"/complaint/{other_token}", data={"category": "not_requested"})
        deliver_outbox(smtp_server.port)
        return other

    other = complain_as_another("<msg-1@platform>")
    [warning] = smtp_server.messages
    assert warning["To"] == account.contact_email
    text, html = bodies(warning)
    reference = db.session.scalar(select(Complaint.id).where(Complaint.contact_id == other.id))
    for body in (text, html):
        assert "not requested" in body and mailing_list.name in body and contact.email not in body
        assert other.email not in body and "complaint link" in body
        # the message by its complaint's reference: its Message-ID may name the person
        assert "msg-1@platform" not in body and f"Reference: {reference}" in body

    complain_as_another("<msg-2@platform>")
    assert "suspended" in smtp_server.messages[1]["Subject"].lower()
    db.session.refresh(account)
    assert account.status == "suspended"

    result = runner.invoke(args=review_args(account.id, "--decision", "deactivate", "--note", "bought list"))
    assert result.exit_code == 0, result.output
    assert "deactivated" in result.output
    db.session.refresh(account)
    assert account.status == "deactivated"


def test_csrf_is_required_when_enabled(app, client, db, subscribed):
    app.config["WTF_CSRF_ENABLED"] = True
    _contact, _list, token = subscribed
    assert client.post(f"/complaint/{token}", data={"category": "other"}).status_code == 400
    assert count(db, Complaint) == 0
    page = client.get(f"/complaint/{token}").get_data(as_text=True)
    csrf = csrf_token(page)
    assert client.post(f"/complaint/{token}", data={"category": "other", "csrf_token": csrf}).status_code == 303
    assert count(db, Complaint) == 1


def test_the_form_is_translated(client, subscribed):
    _contact, _list, token = subscribed
    page = client.get(f"/complaint/{token}?lang=id").get_data(as_text=True)
    assert '<html lang="id">' in page


def test_g16_posts_are_rate_limited_per_ip(second_app, subscribed):
    _contact, _list, token = subscribed
    limited = second_app(RATELIMIT_ENABLED=True, PORTAL_COMPLAINT_FORM_LIMIT="2 per minute")
    client = limited.test_client()
    codes = [client.post(f"/complaint/{token}", data={"category": "other"},
                         environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code for _ in range(3)]
    assert codes == [303, 303, 429]
    assert client.get(f"/complaint/{token}", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
