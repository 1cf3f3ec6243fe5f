"""The complaint policy (SPEC section 5): what complaints do to an account's standing.

A sender with the volume (``PORTAL_COMPLAINT_RATE_MIN_VOLUME`` delivered messages in a window)
is judged by its complaint rates: warned at ``PORTAL_COMPLAINT_RATE_WARN``, put under review at
``PORTAL_COMPLAINT_RATE_REVIEW`` (the mailbox providers' line), suspended at once only at the
abusive ``PORTAL_COMPLAINT_RATE_SUSPEND``. A small sender is judged by counts, as the seed
policy says: warned after ``PORTAL_COMPLAINTS_TO_WARN`` complaints, then suspended with a
review after ``PORTAL_COMPLAINTS_TO_SUSPEND`` more. ``too_frequent`` complaints are shown
apart and never move an account. Only an operator's decision closes a review.

This module judges and reads; the transitions, the policy's run after a complaint and an
operator's decision are :mod:`portal.complaints.operations.policy`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account, AccountStatus, AccountStatusChange
from portal.complaints import rates as complaint_rates
from portal.complaints.models import Complaint, ComplaintCategory, ReviewCase, ReviewDecision, ReviewStatus
from portal.db import isoformat, utcnow
from portal.errors import Conflict
from portal.extensions import db

#: How many complaints an evidence record keeps as samples.
SAMPLES = 10

_A = AccountStatus
#: transition name -> (states it may start from, state it leads to).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "warn": (frozenset({_A.ACTIVE}), _A.WARNED),
    "suspend": (frozenset({_A.ACTIVE, _A.WARNED}), _A.SUSPENDED),
    ReviewDecision.WARN_AGAIN: (frozenset({_A.ACTIVE, _A.WARNED, _A.SUSPENDED}), _A.WARNED),
    ReviewDecision.REINSTATE: (frozenset({_A.WARNED, _A.SUSPENDED}), _A.ACTIVE),
    ReviewDecision.DEACTIVATE: (frozenset({_A.ACTIVE, _A.WARNED, _A.SUSPENDED}), _A.DEACTIVATED),
}


class PolicyRefused(Conflict):
    """The account is not in a state this transition or decision starts from."""

    code = "policy_refused"


def can(account: Account, transition: str) -> bool:
    """Whether ``transition`` may start from the account's status."""
    return account.status in TRANSITIONS[transition][0]


def entered_status_at(account: Account) -> datetime:
    """When the account entered its current status."""
    at = db.session.scalar(select(AccountStatusChange.created_at)
                           .where(AccountStatusChange.account_id == account.id)
                           .order_by(AccountStatusChange.id.desc()).limit(1))
    return at or account.created_at


def counted_since(account: Account, since: datetime) -> list[Complaint]:
    """The account's complaints after ``since`` that drive the policy (not ``too_frequent``)."""
    return list(db.session.scalars(select(Complaint).where(
        Complaint.account_id == account.id, Complaint.created_at > since,
        Complaint.category != ComplaintCategory.TOO_FREQUENT).order_by(Complaint.id)))


def open_review(account: Account) -> ReviewCase | None:
    """The account's open review case, if any."""
    return db.session.scalars(select(ReviewCase).where(
        ReviewCase.account_id == account.id, ReviewCase.status == ReviewStatus.OPEN)
        .order_by(ReviewCase.id.desc()).limit(1)).first()


def open_reviews(account_ids: list[str]) -> dict[str, ReviewCase]:
    """``account id -> its open review case`` for many accounts (a page of them), in one query."""
    found: dict[str, ReviewCase] = {}
    for first in range(0, len(account_ids), 500):  # SQLite's bound parameters may be as few as 999
        for review in db.session.scalars(select(ReviewCase).where(
                ReviewCase.account_id.in_(account_ids[first:first + 500]), ReviewCase.status == ReviewStatus.OPEN)
                .order_by(ReviewCase.id.desc())):
            found.setdefault(review.account_id, review)
    return found


def thresholds() -> dict[str, float | int]:
    """The policy's settings, as every evidence record keeps them."""
    config = current_app.config
    return {"warn_rate": config["PORTAL_COMPLAINT_RATE_WARN"], "review_rate": config["PORTAL_COMPLAINT_RATE_REVIEW"],
            "suspend_rate": config["PORTAL_COMPLAINT_RATE_SUSPEND"],
            "min_volume": config["PORTAL_COMPLAINT_RATE_MIN_VOLUME"],
            "complaints_to_warn": config["PORTAL_COMPLAINTS_TO_WARN"],
            "complaints_to_suspend": config["PORTAL_COMPLAINTS_TO_SUSPEND"]}


def sample(complaints: list[Complaint]) -> list[dict]:
    """The newest complaints as evidence: category, source, message, date; never the person."""
    return [{"id": c.id, "category": c.category, "source": c.source, "message_ref": c.message_ref,
             "list_id": c.list_id, "at": isoformat(c.created_at)} for c in complaints[-SAMPLES:]]


def evidence(rule: str, rates: list[complaint_rates.WindowRate],
             complaints: list[Complaint], window: str | None = None) -> dict[str, Any]:
    """What a decision records: the rule, the window, every rate with its counts, samples."""
    return {"rule": rule, "window": window, "rates": [r.as_dict() for r in rates], "thresholds": thresholds(),
            "complaint_ids": [c.id for c in complaints][-50:],
            "message_refs": [c.message_ref for c in complaints if c.message_ref][-SAMPLES:],
            "samples": sample(complaints)}


@dataclass(frozen=True)
class Verdict:
    """What the policy decides after a complaint: a step, the rule that fired, its evidence."""

    step: str  # ``warn``, ``review`` (warn and open a review) or ``suspend``
    rule: str
    evidence: dict


def _window_complaints(account: Account, hours: int) -> list[Complaint]:
    return counted_since(account, utcnow() - timedelta(hours=hours))


def judge(account: Account, rates: list[complaint_rates.WindowRate], has_review: bool) -> Verdict | None:
    """The step the account's rates (or, for a small sender, its counts) call for, if any."""
    judged = [rate for rate in rates if rate.judged]
    if not judged:
        return _judge_counts(account, rates)
    worst = max(judged, key=lambda rate: rate.rate)
    config = current_app.config
    if worst.rate >= config["PORTAL_COMPLAINT_RATE_SUSPEND"] and can(account, "suspend"):
        step, rule = "suspend", "complaint_rate_abusive"
    elif worst.rate >= config["PORTAL_COMPLAINT_RATE_REVIEW"] and not has_review:
        step, rule = "review", "complaint_rate_review"
    elif worst.rate >= config["PORTAL_COMPLAINT_RATE_WARN"] and can(account, "warn"):
        step, rule = "warn", "complaint_rate"
    else:
        return None
    complaints = _window_complaints(account, worst.hours)
    return Verdict(step, rule, evidence(rule, rates, complaints, worst.window))


def _judge_counts(account: Account, rates: list[complaint_rates.WindowRate]) -> Verdict | None:
    """A small sender: the seed's rule, counted from when the account entered its status."""
    config = current_app.config
    complaints = counted_since(account, entered_status_at(account))
    if account.status == AccountStatus.ACTIVE and len(complaints) >= config["PORTAL_COMPLAINTS_TO_WARN"]:
        step = "warn"
    elif account.status == AccountStatus.WARNED and len(complaints) >= config["PORTAL_COMPLAINTS_TO_SUSPEND"]:
        step = "suspend"
    else:
        return None
    return Verdict(step, "complaint", evidence("complaint", rates, complaints))
