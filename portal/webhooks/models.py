"""An account's webhook endpoints."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import JSONType, UTCDateTime, new_id, utcnow
from portal.extensions import db


class WebhookEvent:
    """The events an endpoint can subscribe to (SPEC section 4)."""

    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    SUPPRESSED = "suppressed"
    ACCOUNT_STATUS_CHANGED = "account_status_changed"
    ALL = (CONFIRMED, UNSUBSCRIBED, COMPLAINED, SUPPRESSED, ACCOUNT_STATUS_CHANGED)


class WebhookEndpoint(db.Model):
    """A URL of an account that receives the events it subscribed to, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: https (plain http only to loopback, in tests or when allowed by config).
    url: Mapped[str] = mapped_column(Text)
    #: HMAC-SHA256 key of the signatures; needed to sign, so kept; shown once, on create.
    secret: Mapped[str] = mapped_column(String(64))
    #: The event names subscribed to.
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set by DELETE; a disabled endpoint gets nothing more.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
