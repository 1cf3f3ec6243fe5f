"""Lists, forms with versioned consent text, contacts and subscriptions."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint, text as sql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import BigIntKey, JSONType, UTCDateTime, new_id, utcnow
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Account


class MailingList(db.Model):
    """An account's audience; consent is given per list."""

    __tablename__ = "lists"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Shown to subscribers on the preference centre.
    description: Mapped[str | None] = mapped_column(Text)
    #: ``{locale: {"name": ..., "description": ...}}``: the list in other languages than the account's.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSONType, default=dict,
                                                                    server_default=sql("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped["Account"] = relationship()


form_lists = Table(
    "form_lists",
    db.metadata,
    Column("form_id", ForeignKey("forms.id"), primary_key=True),
    Column("list_id", ForeignKey("lists.id"), primary_key=True),
)


class Form(db.Model):
    """A signup form of an account for one or more lists."""

    __tablename__ = "forms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Origins (``https://shop.example``) allowed to embed the form and post to it by script.
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Where a browser goes after signing up; must be on an allowed origin.
    redirect_url: Mapped[str | None] = mapped_column(Text)
    #: The signup page's heading (null: "Subscribe to <account>").
    heading: Mapped[str | None] = mapped_column(String(200))
    #: ``{locale: {"heading": ...}}``: the heading in other languages than the account's.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSONType, default=dict,
                                                                    server_default=sql("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped["Account"] = relationship()
    lists: Mapped[list[MailingList]] = relationship(secondary=form_lists, order_by=MailingList.created_at)
    consent_texts: Mapped[list[ConsentText]] = relationship(
        back_populates="form", order_by="ConsentText.version")

    @property
    def current_consent_texts(self) -> list[ConsentText]:
        """The rows of the current (newest) version, one per locale."""
        if not self.consent_texts:
            return []
        version = max(text.version for text in self.consent_texts)
        return [text for text in self.consent_texts if text.version == version]

    @property
    def consent_text(self) -> ConsentText | None:
        """The current version of the consent text in the account's language (else its first row)."""
        return self.consent_text_for(self.account.locale if self.account else None)

    def consent_text_for(self, locale: str | None) -> ConsentText | None:
        """The current version's row in ``locale``, else in the account's language, else its first row."""
        rows = self.current_consent_texts
        by_locale = {text.locale: text for text in rows}
        account_locale = self.account.locale if self.account else None
        return by_locale.get(locale) or by_locale.get(account_locale) or (rows[0] if rows else None)


class ConsentText(db.Model):
    """A form's consent text in one language of one version; never changed once a signup refers to it.

    A version is the set of rows with one version number, one row per locale.
    """

    __tablename__ = "consent_texts"
    __table_args__ = (UniqueConstraint("form_id", "version", "locale"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    form_id: Mapped[str] = mapped_column(ForeignKey("forms.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    #: The language of the text (``en``, ``id``).
    locale: Mapped[str] = mapped_column(String(10))
    #: The exact words the subscriber saw.
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    form: Mapped[Form] = relationship(back_populates="consent_texts")


class Contact(db.Model):
    """An email address within an account."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("account_id", "email_hash"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: No index of its own: the unique (account_id, email_hash) index serves every query by account.
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    #: Normalised (domain lower-cased, IDNA); local part as given. Null once erased.
    email: Mapped[str | None] = mapped_column(String(320))
    #: :func:`portal.addresses.email_hash` of the address; outlives erasure.
    email_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped["Account"] = relationship()
    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="contact")


class SubscriptionStatus:
    """The named states of a subscription."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    BOUNCED = "bounced"
    #: A pending request the subscriber turned down ("No thanks") or that was purged.
    DECLINED = "declined"
    ALL = (PENDING, CONFIRMED, UNSUBSCRIBED, COMPLAINED, BOUNCED, DECLINED)


class Subscription(db.Model):
    """A contact on a list, with the times of each step of its consent."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("contact_id", "list_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: No index of its own: the unique (contact_id, list_id) index serves every query by contact.
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    list_id: Mapped[str] = mapped_column(ForeignKey("lists.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.PENDING)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Soft bounces in a row since the last delivery.
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0)
    #: The signup request a confirmation link must name to be honoured.
    signup_request_id: Mapped[int | None] = mapped_column(ForeignKey("signup_requests.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="subscriptions")
    list: Mapped[MailingList] = relationship()


class SignupRequest(db.Model):
    """One signup (form post, import re-permission): what a confirmation link is bound to."""

    __tablename__ = "signup_requests"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    form_id: Mapped[str | None] = mapped_column(ForeignKey("forms.id"))
    consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id"))
    #: The lists asked for.
    list_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: ``form``, ``import``, ``api``...
    source: Mapped[str] = mapped_column(String(50), default="form")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Non-personal evidence kept beside the ledger event (form id, page URL host...).
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
