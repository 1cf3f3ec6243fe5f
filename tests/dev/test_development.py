"""Development mode's guards: no production warning, a loud one when the dev pages could be
exposed, dev pages for this machine only, and a demo that never touches a real account's form."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.config import development_warnings, is_loopback

ROOT = Path(__file__).resolve().parents[2]
development = pytest.mark.app_config(PORTAL_DEVELOPMENT=True)
REMOTE = {"REMOTE_ADDR": "192.168.1.20"}


def _start(tmp_path, **variables) -> str:
    """Build the app in a process of its own (as every `make run` process does); its log."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("SECRET_KEY", "PORTAL_BASE_URL", "PORTAL_DEVELOPMENT")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3", **variables)
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_a_development_start_has_no_production_warning(tmp_path):
    log = _start(tmp_path, PORTAL_DEVELOPMENT="1", PORTAL_BASE_URL="http://127.0.0.1:5731")
    assert "configuration:" not in log


def test_a_development_start_on_a_public_url_warns_of_the_development_pages(tmp_path):
    log = _start(tmp_path, PORTAL_DEVELOPMENT="1", PORTAL_BASE_URL="https://portal.example.com")
    assert log.count("configuration:") == 1
    assert "PORTAL_DEVELOPMENT is on with PORTAL_BASE_URL=https://portal.example.com" in log
    assert "SECRET_KEY is the development key" not in log


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("app.localhost", True), ("::1", True),
    ("[::1]", True), ("::ffff:127.0.0.1", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("portal.example.com", False), ("", False),
    (None, False),
])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_a_server_beyond_loopback_is_warned_of():
    config = {"PORTAL_DEVELOPMENT": True, "PORTAL_BASE_URL": "http://127.0.0.1:5000"}
    assert development_warnings(config, "127.0.0.1") == []
    (closed,) = development_warnings(config, "0.0.0.0")
    assert "listens on 0.0.0.0, beyond this machine" in closed and "answers this machine only" in closed
    (opened,) = development_warnings({**config, "PORTAL_DEV_ALLOW_REMOTE": True}, "0.0.0.0")
    assert "other machines may read it" in opened
    assert development_warnings({**config, "PORTAL_DEVELOPMENT": False}, "0.0.0.0") == []


@development
@pytest.mark.parametrize("path", ["/_dev/mail", "/_dev/site"])
def test_development_pages_refuse_other_machines(client, path):
    page = client.get(path, environ_base=REMOTE, base_url="http://localhost")
    assert page.status_code == 403 and "answer this machine only" in page.get_data(as_text=True)
    answer = client.get(path, environ_base=REMOTE, base_url="http://localhost", headers={"Accept": "application/json"})
    assert answer.status_code == 403 and answer.json["error"]["code"] == "dev_pages_local_only"
    assert "PORTAL_DEV_ALLOW_REMOTE=1" in answer.json["error"]["message"]
    home = client.get("/", environ_base=REMOTE).get_data(as_text=True)
    assert "/_dev/" not in home  # no link to a page that would refuse them
    assert "/_dev/mail" in client.get("/").get_data(as_text=True)


@pytest.mark.app_config(PORTAL_DEVELOPMENT=True, PORTAL_DEV_ALLOW_REMOTE=True)
def test_development_pages_open_to_other_machines_when_allowed(client):
    assert client.get("/_dev/mail", environ_base=REMOTE).status_code == 200
    assert client.get("/_dev/site", environ_base=REMOTE, base_url="https://localhost").status_code == 200


@development
def test_demo_never_uses_or_changes_a_real_accounts_form(runner, app, client, create_form, db):
    from portal.accounts.models import Account
    from portal.subscriptions.models import Form

    app.config["PORTAL_BASE_URL"] = "http://127.0.0.1:5731"
    real = create_form(redirect_url="https://shop.example/thanks", allowed_origins=["https://shop.example"])
    real_id, real_account_id = real.id, real.account_id
    first = json.loads(runner.invoke(args=["demo", "--json"]).output)
    second = json.loads(runner.invoke(args=["demo", "--json"]).output)
    assert first["form_id"] != real_id and first["account_id"] != real_account_id
    assert (second["account_id"], second["form_id"]) == (first["account_id"], first["form_id"])  # reused
    db.session.expire_all()
    untouched = db.session.get(Form, real_id)
    assert untouched.redirect_url == "https://shop.example/thanks"
    assert untouched.allowed_origins == ["https://shop.example"]
    assert db.session.get(Account, first["account_id"]).demo is True
    assert db.session.get(Account, real_account_id).demo is False
    shop = client.get("/_dev/site", base_url="http://localhost:5731").get_data(as_text=True)
    assert f"/f/{first['form_id']}" in shop and f"/f/{real_id}" not in shop


@development
def test_the_demo_site_ignores_real_forms_before_the_demo_exists(client, create_form):
    create_form()
    page = client.get("/_dev/site", base_url="https://localhost")
    assert page.status_code == 200 and "There is no form yet" in page.get_data(as_text=True)


def test_the_demo_form_speaks_both_languages(runner, client, db):
    """A newcomer's `make run` shows customer content per locale: the demo's list, heading and consent
    text in Indonesian on an Indonesian page, in English on an English one."""
    import flask_babel

    from portal.demo import make_demo_form

    form = make_demo_form()
    db.session.commit()
    indonesian = client.get(f"/f/{form.id}?lang=id").get_data(as_text=True)
    assert "Segar dari sangrai, seminggu sekali" in indonesian and "Kabar mingguan" in indonesian
    assert "Ya, kirimi saya email dari Demo Coffee Roasters." in indonesian
    assert '<span lang="en">' not in indonesian  # nothing of the customer's is left in English
    flask_babel.refresh()  # the test app keeps one context: forget the first request's language
    english = client.get(f"/f/{form.id}?lang=en").get_data(as_text=True)
    assert "Fresh from the roaster, once a week" in english and "Weekly news" in english
    assert "Yes, send me email from Demo Coffee Roasters." in english
