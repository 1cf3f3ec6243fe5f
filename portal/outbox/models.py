"""Outbox messages: rendered at the time of their cause, delivered by a worker."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import BigIntKey, JSONType, UTCDateTime, utcnow
from portal.extensions import db


class OutboxStatus:
    PENDING = "pending"
    SENT = "sent"
    #: Gave up after the last retry; kept for an operator.
    FAILED = "failed"


class OutboxMessage(db.Model):
    """One message to deliver: a mail (``channel='mail'``) or a webhook call."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(10), default="mail")
    #: The template set (``confirmation``, ``account_warning``) or webhook event name.
    kind: Mapped[str] = mapped_column(String(50))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: Recipient address, or the webhook URL.
    recipient: Mapped[str] = mapped_column(String(2000))
    #: Mail: subject, text, html, headers, message_id. Webhook: body and headers.
    #: A reference (``context`` set): only headers, message_id and locale; rendered when sent.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: A mail stored as a reference: the template set is ``kind``, this is what its context
    #: loader needs (ids, not rendered text). See :func:`portal.outbox.operations.render_message`.
    context: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
