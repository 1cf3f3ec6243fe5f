"""The development pages: the dev inbox and the demo customer site, and their absence in production."""
import re

import pytest

from portal.dev import mail, site
from tests.conftest import outbox
from tests.pagetools import refusal
from tests.subscriptions.helpers import signup

development = pytest.mark.app_config(PORTAL_DEVELOPMENT=True)


def test_dev_pages_do_not_exist_in_production_configuration(client, create_form):
    create_form()
    for path in ("/_dev/mail", "/_dev/mail/1", "/_dev/mail/1/html", "/_dev/site", "/_dev/site/thanks"):
        page = client.get(path)
        assert refusal(page) == (404, "not_found") and "This link is not valid" in page.get_data(as_text=True), path
        answer = client.get(path, headers={"Accept": "application/json"})
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found", path


@pytest.mark.app_config(PORTAL_DEVELOPMENT=True, MAIL_SERVER="127.0.0.1")
def test_no_dev_inbox_when_a_mail_server_is_set(client):
    answer = client.get("/_dev/mail", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
    assert client.get("/_dev/site", base_url="https://localhost").status_code == 200


@development
def test_dev_inbox_lists_mails_newest_first_and_shows_each(client, create_form):
    form = create_form()
    signup(client, form, "ann@example.org")
    signup(client, form, "bob@example.org")
    first, second = outbox()
    listing = client.get("/_dev/mail").get_data(as_text=True)
    assert listing.index("bob@example.org") < listing.index("ann@example.org")
    assert f'href="/_dev/mail/{second.id}"' in listing
    shown = client.get(f"/_dev/mail/{first.id}")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "<dt>To</dt><dd>ann@example.org</dd>" in html and "<dt>Message-ID</dt>" in html
    link = re.search(r'<a href="(https://portal\.test/confirm/[^"]+)">', html)
    assert link is not None, "the text part's links are clickable"
    frame = re.search(r'<iframe[^>]*src="(/_dev/mail/\d+/html)"[^>]*sandbox="([^"]*)"', html, re.S)
    assert frame is not None and "allow-scripts" not in frame.group(2) and "allow-same-origin" not in frame.group(2)
    assert "frame-src 'self'" in shown.headers["Content-Security-Policy"]
    part = client.get(frame.group(1))
    policy = part.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox ") and "script-src" not in policy and "frame-ancestors 'self'" in policy
    assert '<base target="_top">' in part.get_data(as_text=True)
    assert link.group(1).replace("&amp;", "&") in part.get_data(as_text=True).replace("&amp;", "&")


@development
def test_dev_inbox_refuses_webhook_rows_and_unknown_ids(client, app, db):
    from portal.outbox.models import OutboxMessage

    row = OutboxMessage(channel="webhook", kind="confirmed", recipient="https://hooks.example/x",
                        payload={"body": "{}", "headers": {}})
    db.session.add(row)
    db.session.commit()
    for path in (f"/_dev/mail/{row.id}", "/_dev/mail/999999", "/_dev/mail/999999/html"):
        answer = client.get(path, headers={"Accept": "application/json"})
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"


def test_linkify_escapes_text_and_links():
    html = mail.linkify('<b>Go</b> https://x.example/a?b=1&c="2" now')
    assert str(html) == ('&lt;b&gt;Go&lt;/b&gt; <a href="https://x.example/a?b=1&amp;c=">'
                         'https://x.example/a?b=1&amp;c=</a>&quot;2&quot; now')


@development
def test_demo_site_is_served_on_the_other_loopback_name(client, app, create_form):
    app.config["PORTAL_BASE_URL"] = "http://127.0.0.1:5731"
    create_form()
    moved = client.get("/_dev/site", base_url="http://127.0.0.1:5731")
    assert moved.status_code == 302 and moved.headers["Location"] == "http://localhost:5731/_dev/site"
    app.config["PORTAL_BASE_URL"] = "http://localhost:5731"
    assert site.origin() == "http://127.0.0.1:5731"


@development
def test_demo_site_embeds_the_demo_form_posting_to_the_portal(client, app, runner):
    app.config["PORTAL_BASE_URL"] = "http://127.0.0.1:5731"
    assert runner.invoke(args=["demo"]).exit_code == 0
    page = client.get("/_dev/site", base_url="http://localhost:5731")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    action = re.search(r'<form action="([^"]+)"', html).group(1)
    assert action.startswith("http://127.0.0.1:5731/f/")
    policy = page.headers["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:5731" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-hashes' 'sha256-" in policy
    assert 'href="http://127.0.0.1:5731/_dev/mail"' in html


@development
def test_demo_command_lets_the_demo_site_embed_the_form(runner, app):
    import json

    app.config["PORTAL_BASE_URL"] = "http://127.0.0.1:5731"
    answer = json.loads(runner.invoke(args=["demo", "--json"]).output)
    assert answer["urls"]["demo_site"] == "http://localhost:5731/_dev/site"
    assert answer["urls"]["dev_inbox"] == "http://127.0.0.1:5731/_dev/mail"
    form = json.loads(runner.invoke(args=["forms", "list", "--account", answer["account_id"], "--json"]).output)
    assert form["items"][0]["allowed_origins"] == ["http://localhost:5731"]
    assert form["items"][0]["redirect_url"] == "http://localhost:5731/_dev/site/thanks"


@development
def test_a_signup_from_the_demo_site_goes_back_to_its_thank_you_page(client, app, runner):
    import json

    app.config["PORTAL_BASE_URL"] = "http://127.0.0.1:5731"
    answer = json.loads(runner.invoke(args=["demo", "--json"]).output)
    posted = client.post(f"/f/{answer['form_id']}", data={"email": "ann@example.org"},
                         base_url="http://127.0.0.1:5731", headers={"Origin": "http://localhost:5731"})
    assert posted.status_code == 303 and posted.headers["Location"] == "http://localhost:5731/_dev/site/thanks"
    thanks = client.get("/_dev/site/thanks", base_url="http://localhost:5731").get_data(as_text=True)
    assert "Please check your inbox" in thanks
    assert [message.recipient for message in outbox()] == ["ann@example.org"]


@development
def test_a_get_of_the_demo_site_creates_nothing(client, db):
    from sqlalchemy import func, select

    from portal.subscriptions.models import Form

    page = client.get("/_dev/site", base_url="https://localhost")
    assert page.status_code == 200 and "There is no form yet" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Form)) == 0
