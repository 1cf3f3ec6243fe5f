"""API keys and account ids remembered for PORTAL_AUTH_CACHE_SECONDS, and what may never be cached."""
import time

import pytest

from portal.accounts import operations
from portal.accounts.models import ApiKey
from portal.db import utcnow
from portal.extensions import db
from tests.conftest import bearer
from tests.pagetools import refusal


def _revoke_elsewhere(key_id: str) -> None:
    """Revoke as another process would: in the database only, this process's cache untouched."""
    db.session.get(ApiKey, key_id).revoked_at = utcnow()
    db.session.commit()


def _feed_url(account_id: str) -> str:
    return f"/api/v1/accounts/{account_id}/suppressions"


def test_a_key_revoked_elsewhere_is_refused_once_the_ttl_has_passed(app, client, create_account, create_api_key):
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 0.3
    account = create_account()
    key, secret = create_api_key("platform")
    auth = bearer(secret)
    assert client.get(_feed_url(account.id), headers=auth).status_code == 200
    _revoke_elsewhere(key.id)
    time.sleep(0.4)
    assert client.get(_feed_url(account.id), headers=auth).status_code == 401


def test_the_cache_does_remember_a_key_for_its_ttl(app, client, create_account, create_api_key):
    """The documented window: within it a key revoked by another process still works here."""
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 60
    account = create_account()
    key, secret = create_api_key("platform")
    auth = bearer(secret)
    assert client.get(_feed_url(account.id), headers=auth).status_code == 200
    _revoke_elsewhere(key.id)
    assert client.get(_feed_url(account.id), headers=auth).status_code == 200


def test_with_ttl_0_a_revoked_key_is_refused_at_once(app, client, create_account, create_api_key):
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 0
    account = create_account()
    key, secret = create_api_key("platform")
    auth = bearer(secret)
    assert client.get(_feed_url(account.id), headers=auth).status_code == 200
    _revoke_elsewhere(key.id)
    assert client.get(_feed_url(account.id), headers=auth).status_code == 401


def test_revoking_in_this_process_takes_effect_at_once(app, client, create_account, create_api_key):
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 60
    account = create_account()
    key, secret = create_api_key("platform")
    auth = bearer(secret)
    assert client.get(_feed_url(account.id), headers=auth).status_code == 200
    operations.revoke_api_key(db.session.get(ApiKey, key.id))
    db.session.commit()
    assert client.get(_feed_url(account.id), headers=auth).status_code == 401
    assert db.session.get(ApiKey, key.id).revoked_at is not None


@pytest.mark.parametrize("tamper", [
    lambda secret: secret[:-1] + ("A" if secret[-1] != "A" else "B"),  # one character of the secret
    lambda secret: secret.partition(".")[0] + ".",  # no secret at all
    lambda secret: secret.partition(".")[0] + ".x" + secret.partition(".")[2],  # a longer one
])
def test_a_cached_key_still_needs_its_secret(app, client, create_account, create_api_key, tamper):
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 60
    account = create_account()
    _key, secret = create_api_key("platform")
    assert client.get(_feed_url(account.id), headers=bearer(secret)).status_code == 200
    wrong = {"Authorization": f"Bearer {tamper(secret)}"}
    assert client.get(_feed_url(account.id), headers=wrong).status_code == 401


def test_a_cached_account_key_cannot_reach_another_account(app, client, create_account, account_auth):
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 60
    mine, other = create_account(), create_account()
    auth = account_auth(mine)
    lookup = "/api/v1/accounts/{}/suppressions/ann@example.org"
    assert client.get(lookup.format(mine.id), headers=auth).status_code == 200
    assert client.get(_feed_url(mine.id), headers=auth).status_code == 200
    # Both the id-only route (lookup) and a route loading the row refuse the other account.
    assert refusal(client.get(lookup.format(other.id), headers=auth)) == (404, "not_found")
    assert refusal(client.get(_feed_url(other.id), headers=auth)) == (404, "not_found")


def test_an_unknown_account_is_404_on_the_id_only_route_and_misses_are_not_cached(app, client, platform_auth,
                                                                                   create_account):
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 60
    lookup = "/api/v1/accounts/{}/suppressions/ann@example.org"
    assert refusal(client.get(lookup.format("nosuchaccount"), headers=platform_auth)) == (404, "not_found")
    assert operations._cache().accounts == {}
    account = create_account()
    db.session.commit()
    assert client.get(lookup.format(account.id), headers=platform_auth).status_code == 200


def test_unknown_key_ids_are_not_cached(app, client, create_account):
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 60
    account = create_account()
    for n in range(3):
        bad = {"Authorization": f"Bearer {operations.KEY_PREFIX}_nosuchkey{n}.secret"}
        assert client.get(_feed_url(account.id), headers=bad).status_code == 401
    assert operations._cache().keys == {}


def test_a_route_deciding_on_account_status_reads_it_fresh(app, client, create_account, create_list, platform_auth):
    """send-check loads the account row on every call: a suspension counts at once, cache or not."""
    app.config["PORTAL_AUTH_CACHE_SECONDS"] = 60
    mailing_list = create_list()
    account = mailing_list.account
    db.session.commit()
    url = f"/api/v1/accounts/{account.id}/send-check"
    body = {"list_id": mailing_list.id, "emails": ["ann@example.org"]}
    assert client.post(url, json=body, headers=platform_auth).json["results"][0]["reason"] != "account_suspended"
    operations.change_status(account, "suspended", reason="test")
    db.session.commit()
    assert client.post(url, json=body, headers=platform_auth).json["results"][0]["reason"] == "account_suspended"
