"""The complaint policy (SPEC section 5): what complaints do to an account's standing.

A sender with the volume (``PORTAL_COMPLAINT_RATE_MIN_VOLUME`` delivered messages in a window)
is judged by its complaint rates: warned at ``PORTAL_COMPLAINT_RATE_WARN``, put under review at
``PORTAL_COMPLAINT_RATE_REVIEW`` (the mailbox providers' line), suspended at once only at the
abusive ``PORTAL_COMPLAINT_RATE_SUSPEND``. A small sender is judged by counts, as the seed
policy says: warned after ``PORTAL_COMPLAINTS_TO_WARN`` complaints, then suspended with a
review after ``PORTAL_COMPLAINTS_TO_SUSPEND`` more. ``too_frequent`` complaints are shown
apart and never move an account. Only an operator's decision closes a review.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account, AccountStatus, AccountStatusChange
from portal.accounts.operations import change_status
from portal.complaints import rates as complaint_rates
from portal.complaints.models import Complaint, ComplaintCategory, ReviewCase, ReviewDecision, ReviewStatus
from portal.db import isoformat, utcnow
from portal.errors import Conflict, ValidationFailed
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


def transition(account: Account, name: str, *, reason: str, evidence: dict, actor: str = "system",
               **decided) -> AccountStatusChange:
    """Move the account along a named transition, recorded; :class:`PolicyRefused` otherwise.

    ``decided``: an operator's ``operator_id``, ``decision`` and ``note``, kept on the change.
    """
    if not can(account, name):
        raise PolicyRefused(f"cannot {name.replace('_', ' ')} an account that is {account.status}")
    return change_status(account, TRANSITIONS[name][1], reason=reason, evidence=evidence, actor=actor,
                         record_same=True, **decided)


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


def on_complaint(account: Account, complaint: Complaint) -> AccountStatusChange | None:
    """Apply the policy after a new complaint: warn, review, suspend, or add it to the open review."""
    lock(account)
    if account.status == AccountStatus.DEACTIVATED:
        return None
    review = open_review(account)
    if review is not None:
        _add_to_review(review, complaint)
    if complaint.category == ComplaintCategory.TOO_FREQUENT:
        return None  # shown apart: the sender may mail too often rather than without permission
    verdict = judge(account, complaint_rates.current_rates(account.id), review is not None)
    if verdict is None:
        return None
    if verdict.step == "warn":
        return _warn(account, complaint, verdict)
    return _open_review(account, complaint, verdict, suspend=verdict.step == "suspend", review=review)


def _warn(account: Account, complaint: Complaint, verdict: Verdict, review: ReviewCase | None = None):
    from portal.complaints import emails

    change = transition(account, "warn", reason=verdict.rule, evidence=verdict.evidence)
    emails.queue_warning(account, complaint, verdict.evidence, review)
    return change


def _open_review(account: Account, complaint: Complaint, verdict: Verdict, *, suspend: bool,
                 review: ReviewCase | None) -> AccountStatusChange | None:
    """Open a review (unless one is open) and suspend, or warn while the team looks."""
    from portal.complaints import emails

    if review is None:
        review = ReviewCase(account_id=account.id, status=ReviewStatus.OPEN, evidence=dict(verdict.evidence))
        db.session.add(review)
        db.session.flush()
    evidence = dict(verdict.evidence, review_id=review.id)
    if suspend:
        change = transition(account, "suspend", reason=verdict.rule, evidence=evidence)
        emails.queue_suspension(account, complaint, review, evidence)
        return change
    if can(account, "warn"):
        return _warn(account, complaint, Verdict(verdict.step, verdict.rule, evidence), review)
    emails.queue_warning(account, complaint, evidence, review)  # already warned: tell it a review is open
    return None


def _add_to_review(review: ReviewCase, complaint: Complaint) -> None:
    evidence = dict(review.evidence or {})
    evidence["complaint_ids"] = [*evidence.get("complaint_ids", []), complaint.id]
    refs = evidence.get("message_refs", [])
    if complaint.message_ref and len(refs) < SAMPLES:
        evidence["message_refs"] = [*refs, complaint.message_ref]
    review.evidence = evidence
    db.session.flush()


def decide_review(account: Account, decision: str, *, note: str, actor: str,
                  operator_id: int | None = None) -> ReviewCase:
    """An operator's decision on the open review: warn again, suspend, reinstate or deactivate.

    Every decision but ``suspend`` closes the review; a suspension keeps it open for the final one.
    The status history records it with the operator (``actor``, ``operator_id``), the decision and
    the note, even when the status stays the same (warning a warned account again).
    """
    if decision not in ReviewDecision.ALL:
        raise ValidationFailed("The decision is warn_again, suspend, reinstate or deactivate.")
    if not note or not note.strip():
        raise ValidationFailed("A review decision needs a note.")
    lock(account)
    review = open_review(account)
    if review is None:
        raise PolicyRefused("This account has no open review.")
    rates = complaint_rates.current_rates(account.id)
    complaints = db.session.scalars(select(Complaint).where(Complaint.id.in_(
        (review.evidence or {}).get("complaint_ids", []))).order_by(Complaint.id)).all()
    record = dict(evidence(f"review:{decision}", rates, list(complaints)),
                  review_id=review.id, note=note.strip())
    transition(account, decision, reason=f"review:{decision}", actor=actor, evidence=record,
               operator_id=operator_id, decision=decision, note=note.strip())
    if decision == ReviewDecision.WARN_AGAIN:
        from portal.complaints import emails

        emails.queue_warning(account, complaints[-1] if complaints else None, record, None)
    _record_on_review(review, decision, note.strip(), actor)
    return review


def _record_on_review(review: ReviewCase, decision: str, note: str, actor: str) -> None:
    evidence = dict(review.evidence or {})
    evidence["decisions"] = [*evidence.get("decisions", []),
                             {"decision": decision, "note": note, "actor": actor, "at": isoformat(utcnow())}]
    review.evidence = evidence
    if decision in ReviewDecision.FINAL:
        review.status, review.decision, review.note = ReviewStatus.CLOSED, decision, note
        review.actor, review.closed_at = actor, utcnow()
    db.session.flush()
