"""Privacy notice versions and the paced mailing that announces each (UU PDP Art. 21(2))."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import BigIntKey, JSONType, UTCDateTime, utcnow
from portal.extensions import db

#: ``owner`` of the platform's own notice, the default of every account without one.
PLATFORM = "platform"


def owner_of(account_id: str | None) -> str:
    """The ``owner`` key of an account's notices (or the platform's, for None)."""
    return PLATFORM if account_id is None else f"account:{account_id}"


class PrivacyNotice(db.Model):
    """One version of a privacy notice, as published: never changed (the database refuses it).

    Consent events record the version in force when they happened (its id, version and SHA-256,
    :func:`portal.consent.notices.in_force`); a new version is mailed to every confirmed contact
    before it takes effect.
    """

    __tablename__ = "privacy_notices"
    __table_args__ = (UniqueConstraint("owner", "version"),
                      # The version in force for an owner at a time: the newest effective before it.
                      Index("ix_privacy_notices_owner_effective_at", "owner", "effective_at"))

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: ``platform`` or ``account:<id>``; versions count from 1 per owner.
    owner: Mapped[str] = mapped_column(String(40))
    #: Null for the platform's notice.
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    version: Mapped[int] = mapped_column(Integer)
    #: When it takes effect; the previous version is in force until then.
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: locale -> {"url": ..., "text": ...} (at least one of the two per locale given).
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: :func:`portal.consent.verify.notice_digest` of the version: what events record.
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who published it: ``api_key:<id>`` or ``operator:<name>``.
    published_by: Mapped[str] = mapped_column(String(100))


class MailingStatus:
    RUNNING = "running"
    DONE = "done"


class NoticeMailing(db.Model):
    """The notice mails of one version: released to the outbox a chunk a minute, before it takes effect.

    ``chunk`` k (``per_minute`` contacts, in contact id order from ``after_contact_id``) is due at
    ``start_at`` + k minutes; the outbox worker releases each as it falls due
    (:func:`portal.notices.operations.release_due`), so a million contacts never sit in one request
    or one transaction.
    """

    __tablename__ = "privacy_notice_mailings"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("privacy_notices.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=MailingStatus.RUNNING, index=True)
    per_minute: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The next chunk to release and the last contact id released.
    next_chunk: Mapped[int] = mapped_column(Integer, default=0)
    after_contact_id: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Confirmed contacts when it was published (the schedule was planned for them).
    recipients: Mapped[int] = mapped_column(Integer)
    #: Mails released to the outbox so far.
    queued: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
