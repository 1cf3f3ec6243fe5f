"""Every API route refuses a missing key, the wrong scope and another account's key."""
import re

import pytest

from portal import load_domains
from portal.api import OPERATIONS
from tests.conftest import bearer

load_domains()

ACCOUNT_ROUTES = [op for op in OPERATIONS if "<account_id>" in op.rule]
#: Routes that hold nothing personal or private need no key (the ledger's signed checkpoints).
PUBLIC = [op for op in OPERATIONS if not op.scopes]
KEYED = [op for op in OPERATIONS if op.scopes]
PLATFORM_ONLY = [op for op in OPERATIONS if op.scopes == ("platform",)]


def _path(op, account_id: str) -> str:
    rule = op.rule.replace("<account_id>", account_id)
    return "/api/v1" + re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "x", rule)


def _call(client, op, path, headers):
    return client.open(path, method=op.method, json={}, headers=headers)


def test_only_the_ledger_checkpoints_are_public():
    assert [(op.method, op.rule) for op in PUBLIC] == [("GET", "/ledger/checkpoints")]


@pytest.mark.parametrize("op", PUBLIC, ids=lambda op: f"{op.method} {op.rule}")
def test_a_public_route_answers_without_a_key(client, op, create_account):
    response = _call(client, op, _path(op, create_account().id), {})
    assert response.status_code == 200


@pytest.mark.parametrize("op", KEYED, ids=lambda op: f"{op.method} {op.rule}")
def test_no_key_gets_401(client, op, create_account):
    response = _call(client, op, _path(op, create_account().id), {})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("op", ACCOUNT_ROUTES, ids=lambda op: f"{op.method} {op.rule}")
def test_another_accounts_key_gets_404(client, op, create_account, account_auth):
    mine, theirs = create_account(), create_account()
    response = _call(client, op, _path(op, theirs.id), account_auth(mine))
    assert response.status_code in (403, 404)  # 403 where the route is platform-only anyway
    assert "error" in response.json


@pytest.mark.parametrize("op", PLATFORM_ONLY, ids=lambda op: f"{op.method} {op.rule}")
def test_account_key_gets_403_on_platform_routes(client, op, create_account, account_auth):
    account = create_account()
    response = _call(client, op, _path(op, account.id), account_auth(account))
    assert response.status_code == 403


def test_a_revoked_key_is_refused(client, create_api_key, db):
    from portal.db import utcnow

    key, secret = create_api_key("platform")
    key.revoked_at = utcnow()
    db.session.commit()
    response = client.get("/api/v1/accounts/x", headers=bearer(secret))
    assert response.status_code == 401
