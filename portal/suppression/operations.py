"""Adding, removing and finding suppressions; every change goes to the changes feed."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from portal.addresses import email_hash
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.suppression.models import (Suppression, SuppressionChange, SuppressionReason, SuppressionScope,
                                       scope_key)


def _check(scope: str, reason: str, account_id: str | None, list_id: str | None) -> None:
    if scope not in SuppressionScope.ALL:
        raise ValidationFailed(f"unknown scope {scope!r}")
    if reason not in SuppressionReason.ALL:
        raise ValidationFailed(f"unknown reason {reason!r}")
    if scope == SuppressionScope.ACCOUNT and not account_id:
        raise ValidationFailed("an account suppression needs an account")
    if scope == SuppressionScope.LIST and not (list_id and account_id):
        raise ValidationFailed("a list suppression needs an account and a list")


def add(email: str, *, scope: str, reason: str, account_id: str | None = None, list_id: str | None = None,
        source: str | None = None, note: str | None = None) -> Suppression | None:
    """Suppress the normalised ``email`` in a scope; None when it already was (idempotent)."""
    _check(scope, reason, account_id, list_id)
    if scope == SuppressionScope.GLOBAL:
        account_id = list_id = None
    elif scope == SuppressionScope.ACCOUNT:
        list_id = None
    key = scope_key(scope, account_id, list_id)
    hashed = email_hash(email)
    existing = db.session.scalars(select(Suppression).where(
        Suppression.email_hash == hashed, Suppression.scope_key == key)).first()
    if existing is not None:
        return None
    entry = Suppression(email_hash=hashed, email=email, scope=scope, scope_key=key, account_id=account_id,
                        list_id=list_id, reason=reason, source=source, note=note)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        return None  # added by a concurrent request
    _feed("add", entry, note=note, source=source)
    return entry


def remove(entry: Suppression, *, note: str, source: str | None = None) -> None:
    """Lift one suppression; the reason for lifting it is required and kept in the feed."""
    if not note or not note.strip():
        raise ValidationFailed("Removing a suppression needs a reason.")
    _feed("remove", entry, note=note, source=source)
    db.session.delete(entry)
    db.session.flush()


def _feed(op: str, entry: Suppression, *, note: str | None, source: str | None) -> SuppressionChange:
    change = SuppressionChange(op=op, email_hash=entry.email_hash, email=entry.email, scope=entry.scope,
                               account_id=entry.account_id, list_id=entry.list_id, reason=entry.reason,
                               note=note, source=source)
    db.session.add(change)
    db.session.flush()
    return change


def entries_for(email: str, account_id: str, list_id: str | None = None) -> list[Suppression]:
    """Every suppression that stops mail to ``email`` from this account (global, account, list).

    With ``list_id``, only that list's entries count among the list scopes.
    """
    hashed = email_hash(email)
    scopes = [Suppression.scope == SuppressionScope.GLOBAL,
              (Suppression.scope == SuppressionScope.ACCOUNT) & (Suppression.account_id == account_id)]
    if list_id is None:
        scopes.append((Suppression.scope == SuppressionScope.LIST) & (Suppression.account_id == account_id))
    else:
        scopes.append((Suppression.scope == SuppressionScope.LIST) & (Suppression.list_id == list_id))
    return list(db.session.scalars(select(Suppression).where(Suppression.email_hash == hashed, or_(*scopes))
                                   .order_by(Suppression.id)))
