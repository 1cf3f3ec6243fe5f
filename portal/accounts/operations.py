"""Creating and changing accounts; issuing and checking API keys."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from portal.accounts import branding, history
from portal.accounts.models import Account, AccountStatus, AccountStatusChange, ApiKey
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.webhooks import operations as webhooks

KEY_PREFIX = "cpk"


def create_account(*, name: str, postal_address: str | None, contact_email: str, locale: str = "en",
                   display_name: str | None = None, accent_colour: str | None = None) -> Account:
    """A new active account (an accent colour too light for white text is refused)."""
    account = Account(name=name, postal_address=postal_address or None, display_name=display_name,
                      accent_colour=branding.checked_accent(accent_colour),
                      contact_email=contact_email, locale=locale, status=AccountStatus.ACTIVE)
    db.session.add(account)
    db.session.flush()
    return account


def update_account(account: Account, **changes) -> Account:
    """Change an account's name, display name, accent colour, address, contact email or locale (never
    its status here); an accent colour too light for white text is refused and changes nothing."""
    if "accent_colour" in changes:
        changes["accent_colour"] = branding.checked_accent(changes["accent_colour"])
    for name, value in changes.items():
        if name not in {"name", "display_name", "accent_colour", "postal_address", "contact_email", "locale"}:
            raise ValidationFailed(f"{name} cannot be changed here.")
        setattr(account, name, value)
    db.session.flush()
    return account


def change_status(account: Account, to_status: str, *, reason: str, evidence: dict | None = None,
                  actor: str = "system", record_same: bool = False, operator_id: int | None = None,
                  decision: str | None = None, note: str | None = None) -> AccountStatusChange | None:
    """Move an account to ``to_status``, appending the change to its chained history and telling
    its webhooks; None when it is already there (unless ``record_same``: an operator's decision
    that keeps the status, such as warning a warned account again, is recorded and sent too).

    The caller holds the account's lock (``complaints.policy.lock``); ``(account_id, seq)`` is
    unique, so two writers could not fork the chain even without it.
    """
    if to_status not in AccountStatus.ALL:
        raise ValidationFailed(f"unknown status {to_status!r}")
    if account.status == to_status and not record_same:
        return None
    seq, prev_hash = history.last_link(account.id)
    change = AccountStatusChange(account_id=account.id, seq=seq + 1, from_status=account.status,
                                 to_status=to_status, reason=reason, evidence=history.normalised(evidence),
                                 actor=actor, operator_id=operator_id, decision=decision, note=note,
                                 created_at=utcnow(), prev_hash=prev_hash)
    change.hash = history.change_hash(change)
    account.status = to_status
    db.session.add(change)
    db.session.flush()
    webhooks.emit(account.id, "account_status_changed",
                  {"from_status": change.from_status, "to_status": to_status, "reason": reason,
                   "decided_by": "operator" if decision else "system", "operator_id": operator_id,
                   "decision": decision})
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


@dataclass(frozen=True)
class KeyIdentity:
    """The authenticated key as a request needs it: id, scope and account (no secret)."""

    id: str
    scope: str
    account_id: str | None


@dataclass(frozen=True)
class _CachedKey:
    expires: float
    secret_hash: str
    identity: KeyIdentity
    revoked: bool


class _Cache:
    """Per-app, per-process memory of key rows and existing account ids, each for a few seconds.

    Only rows the database returned are kept (never a miss), so unknown key ids cannot fill it.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self.keys: dict[str, _CachedKey] = {}
        self.accounts: dict[str, float] = {}
        self.lock = threading.Lock()

    def put(self, table: dict, name: str, value) -> None:
        with self.lock:
            if len(table) >= self.LIMIT:
                table.clear()
            table[name] = value


def _cache() -> _Cache:
    return current_app.extensions.setdefault("portal_auth_cache", _Cache())


def _ttl() -> float:
    return current_app.config["PORTAL_AUTH_CACHE_SECONDS"]


def _key_row(key_id: str) -> _CachedKey | None:
    """The key's row as cached (read from the database when absent or older than the TTL)."""
    cache, ttl, now = _cache(), _ttl(), time.monotonic()
    cached = cache.keys.get(key_id) if ttl > 0 else None
    if cached is not None and cached.expires > now:
        return cached
    key = db.session.scalars(select(ApiKey).where(ApiKey.id == key_id)).first()
    if key is None:
        return None
    cached = _CachedKey(now + ttl, key.secret_hash, KeyIdentity(key.id, key.scope, key.account_id),
                        key.revoked_at is not None)
    if ttl > 0:
        cache.put(cache.keys, key_id, cached)
    return cached


def authenticate_key(presented: str) -> KeyIdentity | None:
    """The live key matching ``presented``, compared in constant time; None otherwise.

    Key rows are remembered for ``PORTAL_AUTH_CACHE_SECONDS``: a key revoked by another process
    stops working within that time (at once in the process that revoked it). The secret is
    hashed and compared on every call, cached or not.
    """
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition(".")
    if prefix != KEY_PREFIX or not key_id or not secret or len(presented) > 200:
        return None
    cached = _key_row(key_id)
    expected = cached.secret_hash if cached is not None else _hash_secret("no such key")
    matches = hmac.compare_digest(expected, _hash_secret(secret))
    if cached is None or not matches or cached.revoked:
        return None
    return cached.identity


def get_api_key(key_id: str) -> ApiKey:
    """The key with this id (revoked or not), or :class:`NotFound`."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("No such key.")
    return key


def revoke_api_key(key: ApiKey) -> None:
    """Revoke ``key`` (idempotent); this process forgets it at once, others within the cache TTL."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.flush()
    _cache().keys.pop(key.id, None)


def account_exists(account_id: str) -> bool:
    """Whether the account exists; a yes is remembered for ``PORTAL_AUTH_CACHE_SECONDS``.

    Accounts are never deleted, so a remembered yes cannot go stale; only ids are kept, never a
    status: whatever decides on an account's status reads the row.
    """
    cache, ttl, now = _cache(), _ttl(), time.monotonic()
    if ttl > 0 and cache.accounts.get(account_id, 0) > now:
        return True
    found = db.session.scalar(select(Account.id).where(Account.id == account_id)) is not None
    if found and ttl > 0:
        cache.put(cache.accounts, account_id, now + ttl)
    return found
