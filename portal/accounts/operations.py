"""Creating and changing accounts; issuing and checking API keys."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from portal.accounts.models import Account, AccountStatus, AccountStatusChange, ApiKey
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.webhooks import operations as webhooks

KEY_PREFIX = "cpk"


def create_account(*, name: str, postal_address: str | None, contact_email: str,
                   locale: str = "en") -> Account:
    """A new active account."""
    account = Account(name=name, postal_address=postal_address or None,
                      contact_email=contact_email, locale=locale, status=AccountStatus.ACTIVE)
    db.session.add(account)
    db.session.flush()
    return account


def update_account(account: Account, **changes) -> Account:
    """Change an account's name, address, contact email or locale (never its status here)."""
    for name, value in changes.items():
        if name not in {"name", "postal_address", "contact_email", "locale"}:
            raise ValidationFailed(f"{name} cannot be changed here.")
        setattr(account, name, value)
    db.session.flush()
    return account


def change_status(account: Account, to_status: str, *, reason: str, evidence: dict | None = None,
                  actor: str = "system") -> AccountStatusChange | None:
    """Move an account to ``to_status``, recording why; None when it is already there."""
    if to_status not in AccountStatus.ALL:
        raise ValidationFailed(f"unknown status {to_status!r}")
    if account.status == to_status:
        return None
    change = AccountStatusChange(account_id=account.id, from_status=account.status,
                                 to_status=to_status, reason=reason, evidence=evidence or {},
                                 actor=actor)
    account.status = to_status
    db.session.add(change)
    db.session.flush()
    webhooks.emit(account.id, "account_status_changed",
                  {"from_status": change.from_status, "to_status": to_status, "reason": reason})
    return change


def get_account(account_id: str) -> Account:
    """The account, or :class:`NotFound`."""
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    return account


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(*, scope: str, account_id: str | None = None, name: str | None = None) -> tuple[ApiKey, str]:
    """A new key and its full secret string, which is shown once and never stored."""
    if scope not in ("platform", "account"):
        raise ValidationFailed("scope must be platform or account.")
    if scope == "account":
        if not account_id:
            raise ValidationFailed("An account key needs --account.")
        get_account(account_id)
    elif account_id:
        raise ValidationFailed("A platform key belongs to no account.")
    secret = secrets.token_urlsafe(32)
    key = ApiKey(scope=scope, account_id=account_id, name=name, secret_hash=_hash_secret(secret))
    db.session.add(key)
    db.session.flush()
    return key, f"{KEY_PREFIX}_{key.id}.{secret}"


def authenticate_key(presented: str) -> ApiKey | None:
    """The live key matching ``presented``, compared in constant time; None otherwise."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition(".")
    if prefix != KEY_PREFIX or not key_id or not secret or len(presented) > 200:
        return None
    key = db.session.scalars(select(ApiKey).where(ApiKey.id == key_id)).first()
    expected = key.secret_hash if key is not None else _hash_secret("no such key")
    matches = hmac.compare_digest(expected, _hash_secret(secret))
    if key is None or not matches or key.revoked_at is not None:
        return None
    return key
