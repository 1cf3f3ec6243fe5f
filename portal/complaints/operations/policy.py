"""What complaints do to an account's standing, done: the policy's transitions, its run after a
new complaint (warn, open a review, suspend) and an operator's decision on a review.

What the policy decides, and from what, is :mod:`portal.complaints.policy` (reads only).
"""
from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Account, AccountStatus, AccountStatusChange
from portal.accounts.operations import change_status
from portal.complaints import emails, rates as complaint_rates
from portal.complaints.models import Complaint, ComplaintCategory, ReviewCase, ReviewDecision, ReviewStatus
from portal.complaints.policy import SAMPLES, TRANSITIONS, PolicyRefused, Verdict, can, evidence, judge, open_review
from portal.db import isoformat, utcnow
from portal.errors import ValidationFailed
from portal.extensions import db


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
    change = transition(account, "warn", reason=verdict.rule, evidence=verdict.evidence)
    emails.queue_warning(account, complaint, verdict.evidence, review)
    return change


def _open_review(account: Account, complaint: Complaint, verdict: Verdict, *, suspend: bool,
                 review: ReviewCase | None) -> AccountStatusChange | None:
    """Open a review (unless one is open) and suspend, or warn while the team looks."""
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
