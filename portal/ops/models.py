"""The operators of the compliance console."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db


class Operator(UserMixin, db.Model):
    """A member of the platform's compliance team: password (Argon2) and TOTP second factor."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: Shown in the status history of every decision (``operator:<username>``).
    username: Mapped[str] = mapped_column(String(100), unique=True)
    #: Argon2id hash (argon2-cffi), never the password.
    password_hash: Mapped[str] = mapped_column(String(200))
    #: Base32 TOTP secret (RFC 6238), shown once at creation to enrol an authenticator.
    totp_secret: Mapped[str] = mapped_column(String(64))
    #: The last TOTP time step accepted: each code signs in once.
    totp_last_step: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A disabled operator cannot sign in.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def actor(self) -> str:
        """How the status history names this operator."""
        return f"operator:{self.username}"
