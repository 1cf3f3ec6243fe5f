"""The per-recipient links and List-Unsubscribe headers the sending platform puts in each message.

Addresses that are not yet contacts of the account become contacts here, in bulk (one
``INSERT ... ON CONFLICT DO NOTHING`` and a few ``SELECT ... IN`` per call), so that every
recipient's links work; no consent and no subscription is created with them.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal import links
from portal.accounts.models import Account
from portal.addresses import email_hash, try_normalise
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.subscriptions.models import Contact, MailingList

ONE_CLICK = "List-Unsubscribe=One-Click"
#: Local part prefix of the ``mailto:`` unsubscribe address: ``unsubscribe+<token>@<domain>``.
MAILTO_PREFIX = "unsubscribe+"
_CHUNK = 2000


@dataclass(frozen=True)
class Recipient:
    """One recipient of one message: the address as sent and the platform's message id."""

    email: str
    message_id: str | None = None


def list_unsubscribe(target: links.Target, https_url: str) -> dict[str, str]:
    """The two header values (RFC 2369 syntax, RFC 8058 one-click): HTTPS first, then mailto.

    The mailto address carries the compact token of :func:`portal.links.mail_token`: a local
    part of at most 64 characters, of one case.
    """
    value = f"<{https_url}>"
    domain = current_app.config.get("PORTAL_UNSUBSCRIBE_MAIL_DOMAIN")
    if domain:
        value += f", <mailto:{MAILTO_PREFIX}{links.mail_token(target)}@{domain}>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": ONE_CLICK}


def recipient_links(account: Account, mailing_list: MailingList, recipients: list[Recipient]) -> list[dict]:
    """Each recipient's links and headers, in the order given, emails as sent.

    :raises ValidationFailed: some addresses are not valid (``details`` gives their indexes).
    """
    normalised = [try_normalise(item.email) for item in recipients]
    bad = [index for index, value in enumerate(normalised) if value is None]
    if bad:
        raise ValidationFailed("Some recipients are not valid email addresses.", code="invalid_email",
                               details=[{"index": i, "email": recipients[i].email} for i in bad[:100]])
    hashes = [email_hash(value) for value in normalised]
    ids = contact_ids(account, dict(zip(hashes, normalised)))
    return [_links(item, links.Target(ids[hashed], mailing_list.id, item.message_id or None))
            for item, hashed in zip(recipients, hashes)]


def _links(recipient: Recipient, target: links.Target) -> dict:
    tokens = links.target_tokens(target)
    urls = links.target_urls(target, tokens)
    return {"email": recipient.email, **urls,
            "headers": list_unsubscribe(target, urls["unsubscribe_url"])}


def contact_ids(account: Account, addresses: dict[str, str]) -> dict[str, int]:
    """hash -> contact id for every normalised address (by hash), creating missing contacts."""
    found = _existing(account.id, list(addresses))
    missing = [hashed for hashed in addresses if hashed not in found]
    if missing:
        now = utcnow()
        rows = [{"account_id": account.id, "email": addresses[hashed], "email_hash": hashed, "created_at": now}
                for hashed in missing]
        db.session.execute(_insert_ignoring_duplicates(), rows)
        found.update(_existing(account.id, missing))
    return found


def _existing(account_id: str, hashes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start:start + _CHUNK]
        found.update(db.session.execute(select(Contact.email_hash, Contact.id).where(
            Contact.account_id == account_id, Contact.email_hash.in_(chunk))).all())
    return found


def _insert_ignoring_duplicates():
    """``INSERT ... ON CONFLICT DO NOTHING``: a concurrent call may create the same contact."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(Contact.__table__).on_conflict_do_nothing(index_elements=["account_id", "email_hash"])
