"""Origins are origins: allowed_origins and redirect_url refused with a 422 naming the field when
they are anything but scheme + IDNA host (or IP literal) + optional port (and, for the redirect,
a path of safe characters); nothing reaches the frame-ancestors or form-action of the CSP."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.subscriptions.models import Form

BAD_ORIGINS = ["https://*", "*", "https://a.example *", "https://a.example;script-src *", "https://a.example/path",
               "https://a.example,https://b.example", "https://'a.example'", 'https://"a.example"',
               "https://a.example?x", "https://user@a.example", "https://a.example:99999", "javascript:alert(1)",
               "https://a..example", "https://1.2.3", "https://[::1", "https:// a.example", "https://a\tb.example",
               "data:text/html,x", "https://a.example\r\nX-Injected: 1"]


def _create(client, account, auth, mailing_list, **fields):
    return client.post(f"/api/v1/accounts/{account.id}/forms", headers=auth,
                       json={"list_ids": [mailing_list.id], **fields})


def _forms() -> int:
    return db.session.scalar(select(func.count()).select_from(Form))


@pytest.mark.parametrize("bad", BAD_ORIGINS)
def test_a_bad_allowed_origin_is_422_naming_the_field(client, create_list, platform_auth, bad):
    mailing_list = create_list()
    response = _create(client, mailing_list.account, platform_auth, mailing_list,
                       allowed_origins=["https://shop.example", bad])
    assert response.status_code == 422, bad
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and error["message"].startswith("allowed_origins[1]")
    assert error["details"][0]["loc"] == ["allowed_origins", 1]
    assert _forms() == 0


@pytest.mark.parametrize("bad", ["https://shop.example/thanks page", "https://shop.example/a;script-src *",
                                 "https://shop.example/\"onload", "https://shop.example/a,b", "https://*/thanks",
                                 "https://shop.example/<x>", "javascript:alert(1)", "https://other.example/thanks"])
def test_a_bad_redirect_url_is_422_naming_the_field(client, create_list, platform_auth, bad):
    mailing_list = create_list()
    response = _create(client, mailing_list.account, platform_auth, mailing_list,
                       allowed_origins=["https://shop.example"], redirect_url=bad)
    assert response.status_code == 422, bad
    error = response.get_json()["error"]
    assert error["message"].startswith("redirect_url") and error["details"][0]["loc"] == ["redirect_url"]
    assert _forms() == 0


def test_good_origins_are_stored_canonical(client, create_list, platform_auth):
    mailing_list = create_list()
    response = _create(client, mailing_list.account, platform_auth, mailing_list,
                       allowed_origins=["HTTPS://Shop.Example:443/", "https://bücher.example", "http://127.0.0.1:8080",
                                        "https://[2001:db8::1]:8443"],
                       redirect_url="https://shop.example/thanks?from=signup#top")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["allowed_origins"] == ["https://shop.example", "https://xn--bcher-kva.example",
                                       "http://127.0.0.1:8080", "https://[2001:db8::1]:8443"]
    page = client.get(f"/f/{body['id']}")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example https://xn--bcher-kva.example" in policy
    assert "form-action 'self' https://shop.example;" in policy


def test_an_origin_stored_before_validation_never_reaches_the_policy(client, create_form):
    form = create_form(allowed_origins=["https://shop.example"])
    form.allowed_origins = ["https://*", "https://a.example;script-src *", "https://shop.example"]
    db.session.commit()
    policy = client.get(f"/f/{form.id}").headers["Content-Security-Policy"]
    assert policy.endswith("frame-ancestors https://shop.example")
    assert "*" not in policy.replace("'self'", "") and "script-src 'self';" in policy
