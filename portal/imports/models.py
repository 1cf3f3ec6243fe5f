"""An import of a CSV file into a list, and the rows it refused."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import BigIntKey, JSONType, UTCDateTime, new_id, utcnow
from portal.extensions import db


class ConsentMethod:
    """How the account says it collected consent (the attestation's kind)."""

    DOUBLE_OPT_IN = "double_opt_in"
    SINGLE_OPT_IN = "single_opt_in"
    #: In person, on paper, by phone: consent not given through an email confirmation.
    OFFLINE = "offline"
    OTHER = "other"
    ALL = (DOUBLE_OPT_IN, SINGLE_OPT_IN, OFFLINE, OTHER)


class RefusalReason:
    """Why a row was not imported (SPEC section 4)."""

    INVALID = "invalid"
    ROLE_ADDRESS = "role_address"
    STALE = "stale"
    SUPPRESSED = "suppressed"
    DUPLICATE = "duplicate"
    NO_CONSENT_DATE = "no_consent_date"
    #: A throwaway-address domain (the ``disposable-email-domains`` list).
    DISPOSABLE = "disposable"
    ALL = (INVALID, ROLE_ADDRESS, STALE, SUPPRESSED, DUPLICATE, NO_CONSENT_DATE, DISPOSABLE)


class ImportStatus:
    """An import is a job: stored, then run by ``flask imports work``."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    ALL = (QUEUED, RUNNING, FINISHED, FAILED)


class Import(db.Model):
    """One upload: who sent which file, what they attested, and what became of its rows."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("lists.id"), index=True)
    #: The API key that uploaded it (None when run by an operator from the CLI).
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    file_name: Mapped[str | None] = mapped_column(String(255))
    #: Hex SHA-256 of the bytes uploaded: proves which file the attestation covers.
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_bytes: Mapped[int] = mapped_column(BigIntKey, default=0)
    #: The account's own words on how consent was collected.
    attestation: Mapped[str] = mapped_column(Text)
    consent_method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=ImportStatus.QUEUED, index=True)
    #: Data rows read so far (the header excluded, blank lines skipped).
    rows: Mapped[int] = mapped_column(Integer, default=0)
    #: Accepted rows that became confirmed subscriptions.
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    #: Accepted rows imported as pending, each sent a re-permission mail.
    pending: Mapped[int] = mapped_column(Integer, default=0)
    #: reason -> number of rows refused for it.
    refused: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Bytes of the stored upload the worker has read so far (of ``file_bytes``).
    bytes_read: Mapped[int] = mapped_column(BigIntKey, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the current (or last) worker began it.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The worker running it (host:pid:random) and until when its claim holds; renewed each chunk.
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Times a worker claimed it (a takeover counts); a claim is named by this number.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Why it failed (``failed``): a code, a message and the data row it stopped at.
    error_code: Mapped[str | None] = mapped_column(String(50))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_row: Mapped[int | None] = mapped_column(Integer)

    @property
    def accepted(self) -> int:
        """Rows that became subscriptions."""
        return self.confirmed + self.pending


class RefusedRow(db.Model):
    """One refused row, kept so the account can download and fix them."""

    __tablename__ = "import_refused_rows"
    __table_args__ = (Index("ix_import_refused_rows_import_id_email_hash", "import_id", "email_hash"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(ForeignKey("imports.id"))
    #: Record number in the file, the header being 1 (as a spreadsheet numbers it).
    row: Mapped[int] = mapped_column(Integer)
    #: The address as given (clipped); a later duplicate of it is found by ``email_hash``.
    email: Mapped[str | None] = mapped_column(String(320))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(200))


class UploadChunk(db.Model):
    """A piece of an uploaded file, kept in the database so any worker on any machine can read it.

    Deleted when the import finishes or fails.
    """

    __tablename__ = "import_upload_chunks"

    import_id: Mapped[str] = mapped_column(ForeignKey("imports.id"), primary_key=True)
    #: Position from 0; the file is the chunks' bytes in this order.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
