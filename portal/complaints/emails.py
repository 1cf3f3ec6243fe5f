"""The notices a complaint sends to the account: a warning, then a suspension.

Each names the complaint (category, date, list, how it came), the account's complaint rates
against the policy's limits and sample complaints; never the subscriber. A sample names its
message by date, list and Subject (the person erased) and by the complaint's reference, never by
its Message-ID: a Message-ID may spell the recipient, and the sender's own logs map it to them.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from portal.accounts.models import Account
from portal.complaints.models import Complaint, ComplaintCategory, FeedbackReport, ReviewCase
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox.operations import enqueue_mail
from portal.subscriptions.personal import MARKER, mentions, needles


def percent(value: float) -> str:
    """A rate as the notices and the console show it: ``0.25%``."""
    return f"{value * 100:.2f}%"


def complaint_context(account: Account, complaint: Complaint | None) -> dict[str, Any]:
    """What the notices say of the account and the complaint; no subscriber data."""
    if complaint is None:
        return {"account": account, "category": None}
    return {
        "account": account,
        "category": ComplaintCategory.NAMES.get(complaint.category, complaint.category),
        "complained_at": complaint.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "list_name": _list_name(complaint.list_id),
        "source": complaint.source,
        "complaint_id": complaint.id,
    }


def _list_name(list_id: str | None) -> str | None:
    from portal.subscriptions.models import MailingList

    mailing_list = db.session.get(MailingList, list_id) if list_id else None
    return mailing_list.name if mailing_list else None


def subject_of(complaint: Complaint) -> str | None:
    """The Subject of the message a feedback-loop complaint was about, without the person in it.

    The person is looked for by what the contact row says (address, name) and by what the report
    itself names (the original's To, Original-Rcpt-To: addresses, their local parts, the words of
    display names), so the row being gone or erased does not let them through. When nothing names
    the person, there is nothing to check the Subject against: it is withheld.
    """
    from portal.complaints import arf
    report = db.session.get(FeedbackReport, complaint.feedback_report_id) if complaint.feedback_report_id else None
    if report is None:
        return None
    parsed = arf.parse(report.raw)
    subjects = parsed.original_header("Subject")
    if not subjects:
        return None
    found = _person_needles(complaint, parsed)
    return MARKER if not found or mentions(subjects[0], found) else subjects[0][:200]


def _person_needles(complaint: Complaint, report) -> list[str]:
    """What names the complainant, lower-cased: the contact's needles and the report's recipients."""
    from email.utils import formataddr, getaddresses

    from portal.subscriptions.models import Contact

    contact = db.session.get(Contact, complaint.contact_id) if complaint.contact_id else None
    found = set(needles(contact)) if contact is not None else set()
    values = report.original_header("To") + report.fields.get("original-rcpt-to", []) \
        + report.original_header("X-HmXmrOriginalRecipient")
    if contact is not None and contact.email:
        values.append(formataddr((contact.name or "", contact.email)))
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001  (hostile headers: the parts found so far still count)
        pairs = []
    for name, address in pairs:
        words = name.split() + ([address, address.split("@")[0]] if "@" in address else [])
        found.update(word.lower() for word in words if len(word) >= 3)
    return sorted(found, key=len, reverse=True)


def policy_context(evidence: dict) -> dict[str, Any]:
    """The rates against the limits, the categories and sample messages of a decision's evidence."""
    limits = evidence.get("thresholds", {})
    ids = [item["id"] for item in evidence.get("samples", [])]
    complaints = db.session.scalars(select_complaints(ids)).all() if ids else []
    categories = Counter(c.category for c in complaints)
    return {
        "rule": evidence.get("rule"),
        "rates": [dict(rate, percent=percent(rate["rate"]), too_frequent_percent=percent(rate["too_frequent_rate"]))
                  for rate in evidence.get("rates", [])],
        "small_sender": not any(rate.get("judged") for rate in evidence.get("rates", [])),
        "limits": {name: percent(limits[name]) for name in ("warn_rate", "review_rate", "suspend_rate") if name in limits},
        "min_volume": limits.get("min_volume"),
        "categories": [(ComplaintCategory.NAMES.get(name, name), count) for name, count in categories.most_common()],
        "samples": [{"category": ComplaintCategory.NAMES.get(c.category, c.category),
                     "at": c.created_at.strftime("%Y-%m-%d %H:%M UTC"), "reference": c.id,
                     "list_name": _list_name(c.list_id), "subject": subject_of(c)} for c in complaints],
    }


def select_complaints(ids: list[int]):
    from sqlalchemy import select

    return select(Complaint).where(Complaint.id.in_(ids)).order_by(Complaint.id)


def queue_warning(account: Account, complaint: Complaint | None, evidence: dict,
                  review: ReviewCase | None = None) -> OutboxMessage:
    """Queue the warning mail to the account's contact email (naming the review, if one is open)."""
    context = dict(complaint_context(account, complaint), **policy_context(evidence),
                   review_id=review.id if review is not None else None)
    return enqueue_mail("account_warning", to=account.contact_email, locale=account.locale,
                        context=context, account_id=account.id)


def queue_suspension(account: Account, complaint: Complaint, review: ReviewCase, evidence: dict) -> OutboxMessage:
    """Queue the suspension notice, naming the review that is now open."""
    context = dict(complaint_context(account, complaint), **policy_context(evidence), review_id=review.id)
    return enqueue_mail("account_suspended", to=account.contact_email, locale=account.locale,
                        context=context, account_id=account.id)
