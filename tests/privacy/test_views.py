"""The download and erase pages: GET changes nothing, POST needs CSRF, erasure needs the mailed link."""
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.subscriptions.models import Contact
from portal.tokens import make_token
from tests.conftest import outbox
from tests.pagetools import csrf_token, refusal
from tests.privacy.conftest import scan


def erase_link(person) -> str:
    message = outbox("erase_confirm", recipient=person.email)[-1]
    return re.search(r"https://portal\.test(/erase/\S+)", message.payload["text"]).group(1)


def test_data_page_shows_a_button_and_changes_nothing(client, people):
    person, _ = people
    response = client.get(person.preferences_path + "/data")
    assert response.status_code == 200
    assert "<form method=\"post\">" in response.text and "Download my data" in response.text
    assert person.account.postal_address in response.text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert person.email not in response.text  # the page itself shows nothing about the person


def test_download_is_a_json_attachment_with_csrf(csrf_client, people):
    person, bystander = people
    path = person.preferences_path + "/data"
    assert csrf_client.post(path).status_code == 400  # no CSRF token
    token = csrf_token(csrf_client.get(path).text)
    response = csrf_client.post(path, data={"csrf_token": token})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    document = json.loads(response.data)
    assert document["contact"]["email"] == person.email
    assert bystander.email not in response.text


def test_a_bad_token_is_404(client):
    assert refusal(client.get("/preferences/garbage/data")) == (404, "invalid_link")
    assert refusal(client.post("/preferences/garbage/erase")) == (404, "invalid_link")
    assert refusal(client.get("/erase/garbage")) == (404, "invalid_link")


def test_a_preferences_link_alone_only_mails_a_confirmation(csrf_client, people):
    person, _ = people
    path = person.preferences_path + "/erase"
    page = csrf_client.get(path)
    assert page.status_code == 200 and "cannot be undone" in page.text
    response = csrf_client.post(path, data={"csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.location == path + "/sent"  # Post/Redirect/Get
    sent = csrf_client.get(response.location)
    assert sent.status_code == 200 and "Check your inbox" in sent.text
    db.session.expire_all()
    contact = db.session.get(Contact, person.contact.id)
    assert contact.email == person.email and contact.erased_at is None
    assert scan([person.email])  # nothing erased yet
    mails = outbox("erase_confirm", recipient=person.email)
    assert len(mails) == 2  # the fixture's one and this one


def test_the_mailed_link_shows_a_button_then_erases(client, people):
    person, bystander = people
    client.post(person.preferences_path + "/erase")
    link = erase_link(person)

    page = client.get(link)
    assert page.status_code == 200 and "Erase my data" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).email == person.email  # GET changed nothing

    path, lang = link.split("?")
    assert client.get(f"{path}/done?{lang}").location == link  # nothing erased yet: the link's own page
    answer = client.post(link)
    assert answer.status_code == 303 and answer.location == f"{path}/done?{lang}"  # Post/Redirect/Get
    done = client.get(answer.location)
    assert done.status_code == 200 and "erased" in done.text
    db.session.expire_all()
    assert scan(person.needles()) == []
    assert scan([bystander.email])
    again = client.post(link)  # an erased person has no live links: nothing more happens
    assert refusal(again) == (404, "invalid_link") and "This link is not valid" in again.text
    erased = db.session.scalars(select(ConsentEvent).where(ConsentEvent.type == "erased")).all()
    assert len(erased) == 1


def test_the_erase_post_needs_csrf(csrf_client, people):
    person, _ = people
    link = f"/erase/{make_token('erase', [person.contact.id])}"
    assert csrf_client.post(link).status_code == 400
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).email == person.email
    response = csrf_client.post(link, data={"csrf_token": csrf_token(csrf_client.get(link).text)},
                                follow_redirects=False)
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).email is None


def test_an_expired_erase_link_is_410_and_erases_nothing(app, client, people):
    person, _ = people
    link = f"/erase/{make_token('erase', [person.contact.id])}"
    app.config["PORTAL_CONFIRM_MAX_AGE"] = timedelta(seconds=-1)
    assert client.post(link).status_code == 410
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).email == person.email


def test_a_preferences_token_is_not_an_erase_token(client, people):
    person, _ = people
    token = person.preferences_path.rsplit("/", 1)[1]
    assert refusal(client.post(f"/erase/{token}")) == (404, "invalid_link")
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).email == person.email


def test_the_done_page_of_an_expired_erase_link_says_expired_not_erased(app, client, people):
    """Only an erased contact's link answers "erased": an expired one names its sender but erased no one."""
    person, _ = people
    link = f"/erase/{make_token('erase', [person.contact.id])}"
    app.config["PORTAL_CONFIRM_MAX_AGE"] = timedelta(seconds=-1)
    done = client.get(f"{link}/done")
    assert refusal(done) == (410, "expired_link") and "erased" not in done.text.lower()
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).email == person.email


def test_the_done_page_of_a_forged_erase_link_names_no_one(client, people):
    person, _ = people
    forged = make_token("erase", [person.contact.id])[:-2] + "xx"
    assert refusal(client.get(f"/erase/{forged}/done")) == (404, "invalid_link")
