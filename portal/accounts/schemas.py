"""Request and response bodies of the accounts API."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from portal.accounts.branding import ACCENT_PATTERN
from portal.api import EMAIL, Schema

Locale = Literal["en", "id"]
#: A short name for pages and the From of mails: one line (no control or line-separator
#: character), not blank.
DISPLAY_NAME = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"

#: What the accent's pattern cannot say.
ACCENT = ("The accent colour of the account's pages and mails, #rrggbb (stored lower case). White text on it "
          "must reach a WCAG 2.x contrast ratio of 4.5:1, else 422 validation_failed.")


class AccountCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    postal_address: str = Field(min_length=1, max_length=1000)
    contact_email: str = Field(min_length=3, max_length=320, json_schema_extra=EMAIL)
    locale: Locale = "en"
    #: Shown on pages and in the From of the account's mails instead of ``name``.
    display_name: str | None = Field(default=None, min_length=1, max_length=60, pattern=DISPLAY_NAME)
    #: Buttons and links of its pages and mails; white text on it needs a contrast of 4.5:1.
    accent_colour: str | None = Field(default=None, pattern=ACCENT_PATTERN, description=ACCENT)


class AccountUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    postal_address: str | None = Field(default=None, min_length=1, max_length=1000)
    contact_email: str | None = Field(default=None, min_length=3, max_length=320, json_schema_extra=EMAIL)
    locale: Locale | None = None
    #: null removes it (pages and mails then use ``name``).
    display_name: str | None = Field(default=None, min_length=1, max_length=60, pattern=DISPLAY_NAME)
    #: null removes it (pages and mails then use the portal's colour).
    accent_colour: str | None = Field(default=None, pattern=ACCENT_PATTERN, description=ACCENT)


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    reason: str
    actor: str
    evidence: dict
    at: str


class ReviewOut(Schema):
    id: int
    status: Literal["open", "closed"]
    opened_at: str
    #: ``rule``, ``window``, ``rates``, ``thresholds``, ``complaint_ids``, ``message_refs``, ``samples``.
    evidence: dict


class ComplaintRateOut(Schema):
    #: ``24h``, ``30d``: the rolling window, ending now.
    window: str
    hours: int
    #: Complaints (web form and feedback loop, once per person and message), not ``too_frequent``.
    complaints: int
    #: ``too_frequent`` complaints, counted apart: they never move the account.
    too_frequent: int
    #: ``delivered`` events reported through ``POST .../deliveries``.
    delivered: int
    #: complaints / delivered (a fraction: 0.003 is 0.3%); 0 without deliveries.
    rate: float
    too_frequent_rate: float
    #: Whether ``delivered`` reaches ``min_volume``, so that the rate (not counts) is judged.
    judged: bool
    min_volume: int


class AccountOut(Schema):
    id: str
    name: str
    display_name: str | None = None
    #: ``#rrggbb``, lower case; null: the portal's own colour.
    accent_colour: str | None = None
    postal_address: str | None
    contact_email: str
    locale: str
    status: Literal["active", "warned", "suspended", "deactivated"]
    can_send: bool
    #: Why the account cannot send (a send-check reason), or null.
    sending_block: Literal["account_suspended", "account_deactivated", "no_postal_address"] | None = None
    created_at: str
    status_history: list[StatusChangeOut]
    #: The review opened by a suspension, until an operator closes it.
    open_review: ReviewOut | None = None
    #: The complaint rate in each window (SPEC section 5), the short window first.
    complaint_rates: list[ComplaintRateOut] = []


class AccountPage(Schema):
    items: list[AccountOut]
    next_cursor: str | None
