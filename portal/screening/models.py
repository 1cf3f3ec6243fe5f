"""Messages the restricted-content screen flagged, kept for the compliance console."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import BigIntKey, JSONType, UTCDateTime, utcnow
from portal.extensions import db


class FlaggedMessage(db.Model):
    """A checked message that matched the restricted-content lexicon: flagged for review, not refused."""

    __tablename__ = "flagged_messages"
    __table_args__ = (UniqueConstraint("account_id", "content_sha256"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: Hex SHA-256 of subject, HTML and text: the same message checked again is one row.
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: category -> the phrases matched, e.g. ``{"gambling": ["judi online"]}``.
    matches: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    subject: Mapped[str | None] = mapped_column(Text)
    #: The start of the message's text (shown escaped in the console).
    excerpt: Mapped[str | None] = mapped_column(Text)
    #: How many times the same message was checked.
    checks: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
