"""Policy enforcement (SPEC section 5): the account state machine that complaints drive.

``active`` -> ``warned`` on the first complaint(s), with a warning mail; ``warned`` ->
``suspended`` on further complaints, opening a review; only an operator's review decision
(``flask accounts review``) leads on to ``active`` again or to ``deactivated``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy import func, select

from portal.accounts.models import Account, AccountStatus, AccountStatusChange
from portal.addresses import is_postal_address
from portal.accounts.operations import change_status
from portal.complaints.models import Complaint, ReviewCase, ReviewDecision, ReviewStatus
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db

#: Setting -> (parse, default). Read from the app config, then the environment.
SETTINGS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "PORTAL_COMPLAINTS_TO_WARN": (int, 1),
    "PORTAL_COMPLAINTS_TO_SUSPEND": (int, 1),
    #: Complaints over recipients contacted in the window; 0 leaves the rate rule off.
    "PORTAL_COMPLAINT_RATE_LIMIT": (float, 0.0),
    "PORTAL_COMPLAINT_RATE_WINDOW_DAYS": (int, 30),
    "PORTAL_COMPLAINT_RATE_MIN_VOLUME": (int, 1000),
}

#: transition name -> (states it may start from, state it leads to).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "warn": (frozenset({AccountStatus.ACTIVE}), AccountStatus.WARNED),
    "suspend": (frozenset({AccountStatus.WARNED}), AccountStatus.SUSPENDED),
    ReviewDecision.REINSTATE: (frozenset({AccountStatus.SUSPENDED}), AccountStatus.ACTIVE),
    ReviewDecision.DEACTIVATE: (frozenset({AccountStatus.SUSPENDED}), AccountStatus.DEACTIVATED),
}


class PolicyRefused(Conflict):
    """The account is not in a state this transition or decision starts from."""

    code = "policy_refused"


def setting(name: str) -> Any:
    """A policy setting: app config, then environment, then the default."""
    parse, default = SETTINGS[name]
    value = current_app.config.get(name, os.environ.get(name))
    return default if value is None or value == "" else parse(value)


def sending_block(account: Account) -> str | None:
    """Why this account may not send at all (a send-check reason), or None when it may."""
    if account.status == AccountStatus.SUSPENDED:
        return "account_suspended"
    if account.status == AccountStatus.DEACTIVATED:
        return "account_deactivated"
    if not is_postal_address(account.postal_address):
        return "no_postal_address"
    return None


def can(account: Account, transition: str) -> bool:
    """Whether ``transition`` may start from the account's status."""
    return account.status in TRANSITIONS[transition][0]


def transition(account: Account, name: str, *, reason: str, evidence: dict,
               actor: str = "system") -> AccountStatusChange:
    """Move the account along a named transition, recorded; :class:`PolicyRefused` otherwise."""
    if not can(account, name):
        raise PolicyRefused(f"cannot {name} an account that is {account.status}")
    return change_status(account, TRANSITIONS[name][1], reason=reason, evidence=evidence, actor=actor)


def lock(account: Account) -> Account:
    """Take the account's row lock (PostgreSQL) and reload its status: one enforcer at a time."""
    db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    db.session.refresh(account, ["status"])
    return account


def entered_status_at(account: Account) -> datetime:
    """When the account entered its current status."""
    at = db.session.scalar(select(AccountStatusChange.created_at)
                           .where(AccountStatusChange.account_id == account.id)
                           .order_by(AccountStatusChange.id.desc()).limit(1))
    return at or account.created_at


def complaints_since(account: Account, since: datetime) -> list[Complaint]:
    """The account's complaints recorded after ``since``, oldest first."""
    return list(db.session.scalars(select(Complaint).where(
        Complaint.account_id == account.id, Complaint.created_at > since).order_by(Complaint.id)))


def open_review(account: Account) -> ReviewCase | None:
    """The account's open review case, if any."""
    return db.session.scalars(select(ReviewCase).where(
        ReviewCase.account_id == account.id, ReviewCase.status == ReviewStatus.OPEN)
        .order_by(ReviewCase.id.desc()).limit(1)).first()


@dataclass(frozen=True)
class Rate:
    """Complaints over recipients contacted in a window, as mailbox providers measure spam rate."""

    complaints: int
    contacted: int
    window_days: int

    @property
    def value(self) -> float:
        return self.complaints / self.contacted if self.contacted else 0.0

    def as_evidence(self) -> dict:
        return {"complaints": self.complaints, "contacted": self.contacted,
                "window_days": self.window_days, "rate": round(self.value, 6)}


def complaint_rate(account: Account) -> Rate:
    """The account's complaint rate over the configured window.

    There is no per-message deliveries table: the denominator is the number of the account's
    subscriptions contacted in the window (``last_contacted_at``, set by ``POST /deliveries``).
    That counts recipients, not messages, so it overstates the rate of a frequent sender; the
    rule is therefore off unless ``PORTAL_COMPLAINT_RATE_LIMIT`` is set.
    """
    from portal.subscriptions.models import MailingList, Subscription

    days = setting("PORTAL_COMPLAINT_RATE_WINDOW_DAYS")
    since = utcnow() - timedelta(days=days)
    complaints = db.session.scalar(select(func.count(Complaint.id)).where(
        Complaint.account_id == account.id, Complaint.created_at >= since)) or 0
    contacted = db.session.scalar(
        select(func.count(Subscription.id)).join(MailingList, MailingList.id == Subscription.list_id)
        .where(MailingList.account_id == account.id, Subscription.last_contacted_at >= since)) or 0
    return Rate(complaints, contacted, days)


def rate_exceeded(account: Account) -> Rate | None:
    """The rate when the rate rule is on, the volume is enough and the limit is passed; else None."""
    limit = setting("PORTAL_COMPLAINT_RATE_LIMIT")
    if not limit:
        return None
    rate = complaint_rate(account)
    if rate.contacted < setting("PORTAL_COMPLAINT_RATE_MIN_VOLUME") or rate.value <= limit:
        return None
    return rate


def on_complaint(account: Account, complaint: Complaint) -> AccountStatusChange | None:
    """Apply the policy after a new complaint: warn, suspend, or add it to the open review."""
    lock(account)
    if account.status == AccountStatus.SUSPENDED:
        _add_to_review(account, complaint)
        return None
    step = {AccountStatus.ACTIVE: "warn", AccountStatus.WARNED: "suspend"}.get(account.status)
    if step is None:
        return None
    reason, evidence = _rule_fired(account, step)
    if reason is None:
        return None
    if step == "warn":
        return _warn(account, complaint, reason, evidence)
    return _suspend(account, complaint, reason, evidence)


def _rule_fired(account: Account, step: str) -> tuple[str | None, dict]:
    complaints = complaints_since(account, entered_status_at(account))
    threshold = setting("PORTAL_COMPLAINTS_TO_WARN" if step == "warn" else "PORTAL_COMPLAINTS_TO_SUSPEND")
    evidence: dict[str, Any] = {"complaint_ids": [c.id for c in complaints], "threshold": threshold,
                                "message_refs": [c.message_ref for c in complaints if c.message_ref][:10]}
    if len(complaints) >= threshold:
        return "complaint", evidence
    rate = rate_exceeded(account)
    if rate is not None:
        evidence.update(rate=rate.as_evidence(), rate_limit=setting("PORTAL_COMPLAINT_RATE_LIMIT"))
        return "complaint_rate", evidence
    return None, evidence


def _warn(account: Account, complaint: Complaint, reason: str, evidence: dict) -> AccountStatusChange:
    from portal.complaints import emails

    change = transition(account, "warn", reason=reason, evidence=evidence)
    emails.send_warning(account, complaint)
    return change


def _suspend(account: Account, complaint: Complaint, reason: str, evidence: dict) -> AccountStatusChange:
    from portal.complaints import emails

    review = ReviewCase(account_id=account.id, status=ReviewStatus.OPEN, evidence=dict(evidence, rule=reason))
    db.session.add(review)
    db.session.flush()
    change = transition(account, "suspend", reason=reason, evidence=dict(evidence, review_id=review.id))
    emails.send_suspension(account, complaint, review)
    return change


def _add_to_review(account: Account, complaint: Complaint) -> None:
    review = open_review(account)
    if review is None:
        return
    evidence = dict(review.evidence or {})
    evidence["complaint_ids"] = [*evidence.get("complaint_ids", []), complaint.id]
    refs = evidence.get("message_refs", [])
    if complaint.message_ref and len(refs) < 10:
        evidence["message_refs"] = [*refs, complaint.message_ref]
    review.evidence = evidence
    db.session.flush()


def decide_review(account: Account, decision: str, *, note: str, actor: str) -> ReviewCase:
    """An operator's decision on the open review: ``reinstate`` (active) or ``deactivate``."""
    if decision not in ReviewDecision.ALL:
        raise ValidationFailed("The decision is reinstate or deactivate.")
    if not note or not note.strip():
        raise ValidationFailed("A review decision needs a note.")
    lock(account)
    review = open_review(account)
    if review is None:
        raise PolicyRefused("This account has no open review.")
    transition(account, decision, reason=f"review:{decision}", actor=actor,
               evidence={"review_id": review.id, "note": note.strip()})
    review.status, review.decision, review.note = ReviewStatus.CLOSED, decision, note.strip()
    review.actor, review.closed_at = actor, utcnow()
    db.session.flush()
    return review
