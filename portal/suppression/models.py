"""Suppression entries and the feed of their changes."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import BigIntKey, UTCDateTime, utcnow
from portal.extensions import db


class SuppressionScope:
    GLOBAL = "global"
    ACCOUNT = "account"
    LIST = "list"
    ALL = (GLOBAL, ACCOUNT, LIST)


class SuppressionReason:
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINT = "complaint"
    HARD_BOUNCE = "hard_bounce"
    MANUAL = "manual"
    ROLE_ADDRESS = "role_address"
    INVALID = "invalid"
    ERASED = "erased"
    ALL = (UNSUBSCRIBED, COMPLAINT, HARD_BOUNCE, MANUAL, ROLE_ADDRESS, INVALID, ERASED)


class SuppressionChannel:
    """How a change of the feed came about (``channel`` of its row), beside the ledger event."""

    ONE_CLICK = "one_click"          # RFC 8058 POST to the List-Unsubscribe URL
    LINK = "link"                    # the unsubscribe page's own form
    MAILTO = "mailto"                # a mail to the List-Unsubscribe mailto: address
    PREFERENCES = "preferences"      # the preference centre
    UNDO = "undo"                    # the undo on an unsubscribe's answer page
    CONFIRMATION = "confirmation"    # the person's own confirmed double opt-in
    WEB_COMPLAINT = "web_complaint"  # the complaint form
    FBL_COMPLAINT = "fbl_complaint"  # a mailbox provider's feedback-loop report
    BOUNCE = "bounce"                # a hard bounce (or too many soft ones) reported by the platform
    ERASURE = "erasure"              # the person's erasure
    API = "api"                      # an account or platform key (``source`` names it)
    ALL = (ONE_CLICK, LINK, MAILTO, PREFERENCES, UNDO, CONFIRMATION, WEB_COMPLAINT, FBL_COMPLAINT, BOUNCE,
           ERASURE, API)


def scope_key(scope: str, account_id: str | None, list_id: str | None) -> str:
    """One string naming a scope, so uniqueness holds where ids are null."""
    if scope == SuppressionScope.GLOBAL:
        return "global"
    if scope == SuppressionScope.ACCOUNT:
        return f"account:{account_id}"
    return f"list:{list_id}"


class Suppression(db.Model):
    """Never send to this address, in this scope. Keyed by the address hash."""

    __tablename__ = "suppressions"
    __table_args__ = (
        UniqueConstraint("email_hash", "scope_key"),
        Index("ix_suppressions_account_id_email_hash", "account_id", "email_hash"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: :func:`portal.addresses.email_hash`; stays after the address itself is erased.
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: The address as first given; null once erased.
    email: Mapped[str | None] = mapped_column(String(320))
    scope: Mapped[str] = mapped_column(String(10))
    #: ``global``, ``account:<id>`` or ``list:<id>``.
    scope_key: Mapped[str] = mapped_column(String(80))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    list_id: Mapped[str | None] = mapped_column(ForeignKey("lists.id"))
    reason: Mapped[str] = mapped_column(String(20))
    #: What caused it: ``unsubscribe``, ``api_key:<id>``, ``feedback:<id>``...
    source: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SuppressionChange(db.Model):
    """One addition or removal, in commit order: the changes feed."""

    __tablename__ = "suppression_changes"
    __table_args__ = (Index("ix_suppression_changes_account_id_seq", "account_id", "seq"),
                      # An address's history in an account: imports read who once left everything.
                      Index("ix_suppression_changes_account_id_email_hash", "account_id", "email_hash"))

    seq: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: ``add`` or ``remove``.
    op: Mapped[str] = mapped_column(String(10))
    email_hash: Mapped[str] = mapped_column(String(64))
    #: Null once the address is erased.
    email: Mapped[str | None] = mapped_column(String(320))
    scope: Mapped[str] = mapped_column(String(10))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    list_id: Mapped[str | None] = mapped_column(ForeignKey("lists.id"))
    reason: Mapped[str] = mapped_column(String(20))
    #: Why a removal was made (required for removals).
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: How it came about (:class:`SuppressionChannel`); null on rows from before it was kept.
    channel: Mapped[str | None] = mapped_column(String(20))
    #: The ledger event that caused it (the unsubscribe, complaint, erasure...); null when none
    #: did (a key's global or bulk suppression) and on rows from before it was kept. No foreign
    #: key: the feed and the ledger stay apart (the ledger refers to nothing of the feed either).
    ledger_event_id: Mapped[int | None] = mapped_column(BigInteger)


class DeliveryEvent(db.Model):
    """A delivery, hard bounce or soft bounce reported by the platform, kept to count each once."""

    __tablename__ = "delivery_events"
    __table_args__ = (UniqueConstraint("account_id", "message_id", "type", "email_hash"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    #: The platform's message id (``Message-ID`` or its own).
    message_id: Mapped[str] = mapped_column(String(500))
    #: ``delivered``, ``hard_bounce`` or ``soft_bounce``.
    type: Mapped[str] = mapped_column(String(20))
    email_hash: Mapped[str] = mapped_column(String(64))
    #: When the platform saw it happen.
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryCount(db.Model):
    """Delivered messages of an account per hour: the denominator of its complaint rates.

    Kept by ``POST .../deliveries`` as each new ``delivered`` event is recorded, so a rate reads
    at most 720 rows for 30 days, however many messages the account sends.
    """

    __tablename__ = "delivery_counts"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    #: The start of the UTC hour the deliveries happened in (``at`` of the events).
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    delivered: Mapped[int] = mapped_column(Integer, default=0)


def hour_of(at: datetime) -> datetime:
    """The start of the UTC hour of ``at``: the bucket of the hourly delivered counts."""
    return at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
