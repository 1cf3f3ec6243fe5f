"""The account operations called directly: accounts, their status history and webhook, API keys."""
import pytest
from sqlalchemy import select

from portal.accounts import operations
from portal.accounts.models import Account, AccountStatusChange, ApiKey
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from tests.conftest import webhook_payloads

OWNER = {"name": "Toko Kopi", "postal_address": "Jl. Braga 5, Bandung 40111", "contact_email": "owner@kopi.example"}


def changes(account) -> list[tuple]:
    return list(db.session.execute(select(AccountStatusChange.seq, AccountStatusChange.from_status,
                                          AccountStatusChange.to_status, AccountStatusChange.reason)
                                   .where(AccountStatusChange.account_id == account.id)
                                   .order_by(AccountStatusChange.seq)))


def test_create_account_makes_an_active_account_and_only_flushes(app):
    account = operations.create_account(**OWNER, locale="id", display_name="Kopi")

    assert (account.status, account.locale, account.display_name) == ("active", "id", "Kopi")
    assert db.session.get(Account, account.id).postal_address == OWNER["postal_address"]
    db.session.rollback()
    assert db.session.scalar(select(Account.id).where(Account.id == account.id)) is None  # the caller commits


def test_an_accent_colour_too_light_for_white_text_is_refused(app):
    with pytest.raises(ValidationFailed) as caught:
        operations.create_account(**OWNER, accent_colour="#ffff00")
    assert caught.value.code == "validation_failed"
    assert db.session.scalars(select(Account)).all() == []


def test_update_account_changes_the_fields_it_may_and_refuses_its_status(create_account):
    account = create_account()
    operations.update_account(account, name="Renamed", locale="id")
    assert (account.name, account.locale) == ("Renamed", "id")
    with pytest.raises(ValidationFailed) as caught:
        operations.update_account(account, status="deactivated")
    assert caught.value.code == "validation_failed" and account.status == "active"


def test_change_status_appends_a_chained_change_and_tells_the_webhooks(create_account, create_webhook):
    account = create_account()
    create_webhook(account.id, "account_status_changed")

    change = operations.change_status(account, "warned", reason="complaint_rate", evidence={"rate": 0.004})

    assert account.status == "warned" and change.actor == "system" and change.hash
    assert changes(account) == [(1, "active", "warned", "complaint_rate")]
    assert webhook_payloads("account_status_changed") == [
        {"from_status": "active", "to_status": "warned", "reason": "complaint_rate", "decided_by": "system",
         "operator_id": None, "decision": None}]
    second = operations.change_status(account, "suspended", reason="complaint_rate")
    assert second.prev_hash == change.hash and [c[0] for c in changes(account)] == [1, 2]


def test_change_status_to_the_same_status_records_nothing_unless_asked(create_account):
    account = create_account()
    assert operations.change_status(account, "active", reason="noop") is None
    assert changes(account) == []
    kept = operations.change_status(account, "active", reason="review:keep", record_same=True, decision="keep")
    assert kept is not None and changes(account) == [(1, "active", "active", "review:keep")]
    with pytest.raises(ValidationFailed) as caught:
        operations.change_status(account, "banished", reason="x")
    assert caught.value.code == "validation_failed" and account.status == "active"


def test_create_api_key_stores_only_a_hash_and_the_secret_authenticates(create_account):
    account = create_account()
    key, secret = operations.create_api_key(scope="account", account_id=account.id, name="shop")

    assert secret.startswith(f"cpk_{key.id}.") and secret.split(".", 1)[1] not in key.secret_hash
    stored = db.session.get(ApiKey, key.id)
    assert (stored.scope, stored.account_id, stored.name, stored.revoked_at) == ("account", account.id, "shop", None)
    identity = operations.authenticate_key(secret)
    assert (identity.id, identity.scope, identity.account_id) == (key.id, "account", account.id)
    assert operations.authenticate_key(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


@pytest.mark.parametrize("scope, account, error, code", [
    ("owner", False, ValidationFailed, "validation_failed"),
    ("account", None, ValidationFailed, "validation_failed"),      # an account key needs its account
    ("platform", True, ValidationFailed, "validation_failed"),     # a platform key belongs to none
    ("account", "missing", NotFound, "not_found"),
])
def test_create_api_key_refuses_a_key_without_its_right_owner(create_account, scope, account, error, code):
    account_id = {True: create_account().id, False: None, None: None, "missing": "no-such-account"}[account]
    with pytest.raises(error) as caught:
        operations.create_api_key(scope=scope, account_id=account_id)
    assert caught.value.code == code
    assert db.session.scalars(select(ApiKey)).all() == []


def test_a_revoked_key_stops_authenticating_at_once_and_revoking_again_changes_nothing(create_api_key):
    key, secret = create_api_key("platform")
    assert operations.authenticate_key(secret) is not None  # now remembered by this process

    operations.revoke_api_key(key)
    revoked_at = db.session.get(ApiKey, key.id).revoked_at
    assert revoked_at is not None and operations.authenticate_key(secret) is None
    operations.revoke_api_key(key)
    assert db.session.get(ApiKey, key.id).revoked_at == revoked_at
