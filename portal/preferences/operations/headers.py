"""The per-recipient links and List-Unsubscribe headers the sending platform puts in each message.

Addresses that are not yet contacts of the account become contacts here, in bulk (one
``SELECT`` and one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per 2,000), so that every
recipient's links work; no consent and no subscription is created with them.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import String, any_, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from portal import links
from portal.accounts.models import Account
from portal.addresses import email_hash, try_normalise
from portal.db import UTCDateTime, utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.preferences.headers import MAILTO_PREFIX, ONE_CLICK, Recipient
from portal.subscriptions.models import Contact, MailingList

_CHUNK = 2000


def recipient_links(account: Account, mailing_list: MailingList, recipients: list[Recipient]) -> list[dict]:
    """Each recipient's links and headers, in the order given, emails as sent.

    Every token of the call is minted in one pass (:func:`portal.links.targets_tokens`,
    :func:`portal.links.mail_tokens`): the same tokens, byte for byte, as one recipient at a time.

    :raises ValidationFailed: some addresses are not valid (``details`` gives their indexes).
    """
    normalised = [try_normalise(item.email) for item in recipients]
    bad = [index for index, value in enumerate(normalised) if value is None]
    if bad:
        raise ValidationFailed("Some recipients are not valid email addresses.", code="invalid_email",
                               details=[{"index": i, "email": recipients[i].email} for i in bad[:100]])
    hashes = [email_hash(value) for value in normalised]
    ids = contact_ids(account, dict(zip(hashes, normalised)))
    targets = [links.Target(ids[hashed], mailing_list.id, item.message_id or None)
               for item, hashed in zip(recipients, hashes)]
    base = current_app.config["PORTAL_BASE_URL"]
    domain = current_app.config.get("PORTAL_UNSUBSCRIBE_MAIL_DOMAIN")
    mails = links.mail_tokens(targets) if domain else [None] * len(targets)
    answers = []
    for item, tokens, mail in zip(recipients, links.targets_tokens(targets), mails):
        urls = {f"{purpose}_url": f"{base}/{purpose}/{token}" for purpose, token in tokens.items()}
        value = f"<{urls['unsubscribe_url']}>"
        if domain:
            value += f", <mailto:{MAILTO_PREFIX}{mail}@{domain}>"
        answers.append({"email": item.email, **urls,
                        "headers": {"List-Unsubscribe": value, "List-Unsubscribe-Post": ONE_CLICK}})
    return answers


def contact_ids(account: Account, addresses: dict[str, str]) -> dict[str, int]:
    """hash -> contact id for every normalised address (by hash), creating missing contacts.

    One lookup per chunk of addresses; on PostgreSQL the missing ones are created by one
    statement per chunk that returns the ids it made (``INSERT ... SELECT FROM unnest(...)
    ON CONFLICT DO NOTHING RETURNING``), and a contact created meanwhile by a concurrent call
    (which the insert skips) is looked up once more. SQLite inserts the chunk, then looks it up.
    """
    found = _existing(account.id, list(addresses))
    missing = [hashed for hashed in addresses if hashed not in found]
    if not missing:
        return found
    now = utcnow()
    if db.session.get_bind().dialect.name != "postgresql":
        rows = [{"account_id": account.id, "email": addresses[hashed], "email_hash": hashed, "created_at": now}
                for hashed in missing]
        db.session.execute(_insert_ignoring_duplicates(), rows)
        found.update(_existing(account.id, missing))
        return found
    for start in range(0, len(missing), _CHUNK):
        chunk = missing[start:start + _CHUNK]
        found.update(db.session.execute(_CREATE, {"account": account.id, "now": now, "hashes": chunk,
                                                  "emails": [addresses[hashed] for hashed in chunk]}).all())
    raced = [hashed for hashed in missing if hashed not in found]
    if raced:
        found.update(_existing(account.id, raced))
    return found


#: The missing contacts of a chunk, created by one statement (PostgreSQL): (hash, id) of those it made.
_CREATE = text(
    "INSERT INTO contacts (account_id, email, email_hash, created_at) "
    "SELECT :account, email, email_hash, :now FROM unnest(CAST(:emails AS text[]), CAST(:hashes AS text[])) "
    "AS batch (email, email_hash) ON CONFLICT (account_id, email_hash) DO NOTHING RETURNING email_hash, id"
).bindparams(bindparam("now", type_=UTCDateTime))


def _existing(account_id: str, hashes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start:start + _CHUNK]
        # PostgreSQL: one array parameter (= ANY), not 2,000 placeholders for the driver to parse.
        match = Contact.email_hash == any_(bindparam("hashes", chunk, type_=postgresql.ARRAY(String))) \
            if postgres else Contact.email_hash.in_(chunk)
        found.update(db.session.execute(select(Contact.email_hash, Contact.id).where(
            Contact.account_id == account_id, match)).all())
    return found


def _insert_ignoring_duplicates():
    """``INSERT ... ON CONFLICT DO NOTHING``: a concurrent call may create the same contact."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(Contact.__table__).on_conflict_do_nothing(index_elements=["account_id", "email_hash"])
