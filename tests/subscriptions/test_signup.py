"""``GET/POST /f/<form_id>``: the hosted page, the same answer for everyone, JSON and CORS."""
from __future__ import annotations

import pytest

from portal.consent.models import EventType
from portal.extensions import db
from portal.subscriptions.models import SignupRequest, SubscriptionStatus
from portal.subscriptions.operations import find_contact, get_or_create_contact
from portal.suppression import operations as suppression
from tests.conftest import other_app, outbox
from tests.pagetools import refusal
from tests.subscriptions.helpers import event_types, signup, subscription_of


def test_hosted_page_shows_sender_lists_consent_and_honeypot(client, create_form):
    form = create_form(consent_text="Yes, send me the weekly roast news.")
    page = client.get(f"/f/{form.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for expected in (form.account.name, form.account.postal_address, form.lists[0].name,
                     "Yes, send me the weekly roast news.", 'name="website"', "withdraw"):
        assert expected in body
    assert "<script" not in body


def test_unknown_form_is_404(client):
    assert refusal(client.get("/f/nope")) == (404, "not_found")
    assert refusal(client.post("/f/nope", data={"email": "a@example.org"})) == (404, "not_found")


def test_signup_links_the_consent_text_version(client, create_form):
    form = create_form()
    signup(client, form)
    request = db.session.query(SignupRequest).one()
    assert request.consent_text_id == form.consent_text.id and request.list_ids == [form.lists[0].id]


def _answer(response):
    return response.status_code, response.headers.get("Location"), response.get_data()


@pytest.mark.parametrize("state", ["new", "pending", "confirmed", "unsubscribed", "suppressed", "role"])
def test_same_answer_whatever_the_address_state_I12(client, create_form, create_subscription, state):
    form = create_form()
    address = "info@example.org" if state == "role" else "ann@example.org"
    if state in ("pending", "confirmed", "unsubscribed"):
        contact = get_or_create_contact(form.account, address)
        db.session.commit()
        create_subscription(contact, form.lists[0], status=state)
    if state == "suppressed":
        suppression.add(address, scope="global", reason="complaint")
        db.session.commit()
    # The answer depends on the masked address it repeats (a***@example.org), never on the state.
    reference = _answer(signup(client, form, address[0] + "someone.new@example.org"))
    assert _answer(signup(client, form, address)) == reference


def test_confirmed_address_is_left_alone_and_not_mailed(client, create_form, create_subscription):
    form = create_form()
    contact = get_or_create_contact(form.account, "ann@example.org")
    db.session.commit()
    before = create_subscription(contact, form.lists[0])
    signup(client, form, "ann@example.org")
    after = subscription_of(contact.id, form.lists[0].id)
    assert after.status == SubscriptionStatus.CONFIRMED and after.confirmed_at == before.confirmed_at
    assert outbox() == [] and event_types(contact.id) == [EventType.CONFIRMED]


@pytest.mark.parametrize("scope", ["global", "account", "list"])
def test_suppressed_address_gets_no_mail_and_no_contact(client, create_form, scope):
    form = create_form()
    suppression.add("ann@example.org", scope=scope, reason="complaint", account_id=form.account_id,
                    list_id=form.lists[0].id)
    db.session.commit()
    assert signup(client, form).status_code == 303
    assert outbox() == [] and find_contact(form.account_id, "ann@example.org") is None


def test_role_address_gets_no_mail(client, create_form):
    form = create_form()
    signup(client, form, "postmaster@example.org")
    assert outbox() == [] and find_contact(form.account_id, "postmaster@example.org") is None


def test_honeypot_gets_the_same_answer_and_nothing_happens(client, create_form):
    form = create_form()
    reference = _answer(signup(client, form, "amy@example.org"))  # the same masked address, a***@example.org
    assert _answer(signup(client, form, "ann@example.org", website="http://spam.example")) == reference
    assert find_contact(form.account_id, "ann@example.org") is None and len(outbox()) == 1


def test_invalid_address_shows_the_page_with_a_message(client, create_form):
    form = create_form()
    response = signup(client, form, "not-an-address")
    assert response.status_code == 422
    assert b"Enter an email address in the correct format, like name@example.com" in response.data
    assert b'aria-invalid="true"' in response.data and outbox() == []
    assert b"@-sign" not in response.data


def test_idn_address_is_accepted_and_normalised(client, create_form):
    form = create_form()
    signup(client, form, "ann@Bücher.Example")
    assert outbox()[0].recipient == "ann@xn--bcher-kva.example"


def test_json_signup_answers_202(client, create_form):
    form = create_form()
    response = client.post(f"/f/{form.id}", json={"email": "ann@example.org", "name": "Ann"})
    assert response.status_code == 202 and response.get_json() == {"status": "pending_confirmation"}
    assert len(outbox()) == 1


def test_json_invalid_address_is_422_with_the_error_shape(client, create_form):
    form = create_form()
    response = client.post(f"/f/{form.id}", json={"email": "nope@"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_email" and outbox() == []


def test_cors_only_for_allowed_origins(client, create_form):
    form = create_form(allowed_origins=["https://shop.example"])
    allowed = client.options(f"/f/{form.id}", headers={"Origin": "https://shop.example",
                                                       "Access-Control-Request-Method": "POST"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    post = client.post(f"/f/{form.id}", json={"email": "ann@example.org"}, headers={"Origin": "https://shop.example"})
    assert post.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = client.post(f"/f/{form.id}", json={"email": "bob@example.org"}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_redirects_to_the_forms_redirect_url_on_an_allowed_origin(client, create_form):
    form = create_form(allowed_origins=["https://shop.example"], redirect_url="https://shop.example/thanks")
    assert signup(client, form).headers["Location"] == "https://shop.example/thanks"


def test_a_redirect_url_no_longer_allowed_is_not_followed(client, create_form):
    form = create_form(allowed_origins=["https://shop.example"], redirect_url="https://shop.example/thanks")
    form.allowed_origins = []
    db.session.commit()
    assert signup(client, form).headers["Location"].split("?")[0].endswith(f"/f/{form.id}/thanks")


def test_at_most_three_confirmation_mails_a_day_I14(client, create_form):
    form = create_form()
    answers = {_answer(signup(client, form)) for _ in range(10)}
    assert len(answers) == 1 and len(outbox()) == 3


def test_pending_resignup_resends_the_same_request(client, create_form):
    form = create_form()
    signup(client, form)
    signup(client, form)
    first, second = outbox()
    assert db.session.query(SignupRequest).count() == 1
    from tests.subscriptions.helpers import confirm_path

    assert client.post(confirm_path(first)).status_code == 303  # the older mail still works


def test_embed_snippet_posts_without_csrf(app, create_form):
    url = f"/f/{create_form().id}"
    with other_app(app, WTF_CSRF_ENABLED=True) as csrf_app:
        response = csrf_app.test_client().post(url, data={"email": "ann@example.org", "website": ""})
        assert response.status_code == 303
