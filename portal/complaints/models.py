"""Complaints and the feedback-loop reports they may come from."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import BigIntKey, JSONType, UTCDateTime, utcnow
from portal.extensions import db


class ComplaintCategory:
    """What a complaint is about (SPEC section 2)."""

    NOT_REQUESTED = "not_requested"
    OFFENSIVE = "offensive"
    ILLEGAL = "illegal"
    VIOLENCE = "violence"
    TOO_FREQUENT = "too_frequent"
    OTHER = "other"
    ALL = (NOT_REQUESTED, OFFENSIVE, ILLEGAL, VIOLENCE, TOO_FREQUENT, OTHER)
    #: What a subscriber reads for each category (translated when shown).
    LABELS = {
        NOT_REQUESTED: _l("I never asked to receive these messages"),
        OFFENSIVE: _l("The content is offensive"),
        ILLEGAL: _l("It promotes something illegal"),
        VIOLENCE: _l("It contains or incites violence"),
        TOO_FREQUENT: _l("I receive too many messages"),
        OTHER: _l("Something else"),
    }
    #: Short names, as the account's notices give them.
    NAMES = {
        NOT_REQUESTED: _l("not requested"),
        OFFENSIVE: _l("offensive"),
        ILLEGAL: _l("illegal"),
        VIOLENCE: _l("violence"),
        TOO_FREQUENT: _l("too frequent"),
        OTHER: _l("other"),
    }


class FeedbackReport(db.Model):
    """A feedback-loop report as received, matched or kept for review."""

    __tablename__ = "feedback_reports"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: Hex SHA-256 of the raw bytes: the same report twice counts once.
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    #: ``abuse``, ``fraud``, ``not-spam``, ``auth-failure``, ``other``, ``virus``, or ``non-arf``.
    feedback_type: Mapped[str] = mapped_column(String(40))
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    list_id: Mapped[str | None] = mapped_column(ForeignKey("lists.id"))
    #: What was done: ``complaint``, ``none``, ``kept``, ``review``.
    action: Mapped[str] = mapped_column(String(20))
    #: Parsed fields worth keeping (source IP, reporting MTA, arrival date...).
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: ``open`` while an operator should look at it; ``closed`` after.
    review_status: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Complaint(db.Model):
    """A subscriber's report against an account, from the web form or a feedback loop."""

    __tablename__ = "complaints"
    #: The complaint rates count an account's complaints in a time window.
    __table_args__ = (Index("ix_complaints_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    list_id: Mapped[str | None] = mapped_column(ForeignKey("lists.id"))
    category: Mapped[str] = mapped_column(String(20))
    #: The subscriber's words, sanitised and length-limited. Personal: erased with the contact.
    text: Mapped[str | None] = mapped_column(Text)
    #: The Message-ID (or platform message id) complained about.
    message_ref: Mapped[str | None] = mapped_column(String(500))
    #: ``web`` or ``feedback_loop``.
    source: Mapped[str] = mapped_column(String(20))
    feedback_report_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_reports.id"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewStatus:
    """A review case is open until an operator decides."""

    OPEN = "open"
    CLOSED = "closed"


class ReviewDecision:
    """What an operator may decide on an open review."""

    WARN_AGAIN = "warn_again"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    DEACTIVATE = "deactivate"
    ALL = (WARN_AGAIN, SUSPEND, REINSTATE, DEACTIVATE)
    #: The decisions that close the review; a suspension keeps it open for the final one.
    FINAL = (WARN_AGAIN, REINSTATE, DEACTIVATE)


class ReviewCase(db.Model):
    """An operator's investigation of an account (under review or suspended); only an operator closes it."""

    __tablename__ = "review_cases"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: ``open`` until an operator decides; ``closed`` after.
    status: Mapped[str] = mapped_column(String(10), default=ReviewStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: What led to it: ``complaint_ids``, sample ``message_refs``, the rule that fired.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: ``warn_again``, ``reinstate`` or ``deactivate``, once decided.
    decision: Mapped[str | None] = mapped_column(String(20))
    #: The operator's reasons, kept with the decision.
    note: Mapped[str | None] = mapped_column(Text)
    #: Who decided.
    actor: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
