"""Accounts, API keys and the record of every account status change."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import BigIntKey, JSONType, UTCDateTime, new_id, utcnow
from portal.extensions import db


class AccountStatus:
    """The named states of an account's policy standing (SPEC section 5)."""

    ACTIVE = "active"
    WARNED = "warned"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"
    ALL = (ACTIVE, WARNED, SUSPENDED, DEACTIVATED)


class Account(db.Model):
    """A customer of the platform, who owns lists and forms."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: Shown on every subscriber page and in every mail.
    name: Mapped[str] = mapped_column(String(200))
    #: A short name for subscriber pages and the From of its mails (``<display name> via <platform>``);
    #: null: :attr:`name`. The legal :attr:`name` stays beside the postal address.
    display_name: Mapped[str | None] = mapped_column(String(60))
    #: ``#rrggbb`` (lower case) of the buttons and links of its pages and mails, in place of the portal's;
    #: dark enough for white text (:mod:`portal.accounts.branding`); null: the portal's own.
    accent_colour: Mapped[str | None] = mapped_column(String(7))
    #: Required by law in every message; an account without one cannot send.
    postal_address: Mapped[str | None] = mapped_column(Text)
    #: Where policy notices (warnings, suspension) are sent.
    contact_email: Mapped[str] = mapped_column(String(320))
    #: Default locale of its subscriber pages and mail.
    locale: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[str] = mapped_column(String(20), default=AccountStatus.ACTIVE)
    #: The account ``flask demo`` made for a newcomer's first run (it never touches another).
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    status_changes: Mapped[list[AccountStatusChange]] = relationship(
        back_populates="account", order_by="AccountStatusChange.id")

    @property
    def shown_name(self) -> str:
        """The name people see: the display name, else the name."""
        return self.display_name or self.name

    @property
    def shown_and_legal_name(self) -> str:
        """Where the legal sender matters (privacy, complaints): ``Shown (Legal)``, or the name alone."""
        if not self.display_name or self.display_name == self.name:
            return self.name
        return f"{self.display_name} ({self.name})"


class AccountStatusChange(db.Model):
    """One transition of an account's status, with its reason and evidence: the ledger of account
    events. Rows are only inserted (database guards refuse UPDATE and DELETE), and each account's
    rows form a hash chain (``seq``, ``prev_hash``, ``hash``: :mod:`portal.accounts.history`).
    """

    __tablename__ = "account_status_changes"
    __table_args__ = (UniqueConstraint("account_id", "seq"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: Position in the account's chain, from 1.
    seq: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    #: Why: ``complaint``, ``complaint_rate``, ``review:reinstate``, ``review:deactivate``...
    reason: Mapped[str] = mapped_column(String(100))
    #: Complaint ids, operator note, figures: whatever made the decision.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Who made it: ``system`` or an operator name / key id.
    actor: Mapped[str] = mapped_column(String(200), default="system")
    #: The console operator who decided (also named by ``actor``); null for the system's own changes.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    #: The review decision (``warn_again``, ``suspend``, ``reinstate``, ``deactivate``), if one made it.
    decision: Mapped[str | None] = mapped_column(String(20))
    #: The operator's note on the decision.
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The hash of the account's change before this one (``history.GENESIS`` for the first).
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of this change's canonical payload, ``prev_hash`` included.
    hash: Mapped[str] = mapped_column(String(64))

    account: Mapped[Account] = relationship(back_populates="status_changes")


class ApiKey(db.Model):
    """A machine credential: shown once, stored as a SHA-256 of its secret."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: ``platform`` (every account) or ``account`` (one account).
    scope: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: Hex SHA-256 of the secret part; the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
