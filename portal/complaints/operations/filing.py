"""Recording complaints (web form and feedback loop) and their consequences.

A complaint suppresses the address for the account at once, moves the contact's
subscriptions to ``complained``, is written to the ledger, and drives the account policy.
The same complaint (contact and message) twice counts once.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import links
from portal.complaints import arf
from portal.complaints.models import Complaint, ComplaintCategory, FeedbackReport, ReviewStatus
from portal.complaints.operations.policy import lock, on_complaint
from portal.consent import actors
from portal.consent.evidence import RequestEvidence
from portal.consent.operations import record
from portal.consent.models import EventType
from portal.errors import TokenInvalid, ValidationFailed
from portal.extensions import db
from portal.webhooks import operations as webhooks
from portal.subscriptions import holders
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Contact, MailingList
from portal.suppression import operations as suppressions

MAX_TEXT = 2000
#: Bidirectional overrides and isolates: they can make stored text read differently.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\ufeff]")

#: feedback type -> complaint category, for the types that are complaints.
FEEDBACK_CATEGORIES = {"abuse": ComplaintCategory.NOT_REQUESTED, "fraud": ComplaintCategory.OTHER,
                       "non-arf": ComplaintCategory.NOT_REQUESTED}


class Action:
    """What was done with a feedback report."""

    COMPLAINT = "complaint"
    NONE = "none"
    KEPT = "kept"
    REVIEW = "review"


def sanitise_text(text: str | None) -> str | None:
    """Free text as stored: NFC, no control characters but newline and tab, trimmed, clipped."""
    if not text:
        return None
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs"))
    text = _BIDI.sub("", text).strip()
    return text[:MAX_TEXT] or None


def find_complaint(contact: Contact, message_ref: str | None) -> Complaint | None:
    """The contact's complaint about this message (None message: about no named message)."""
    ref = Complaint.message_ref == message_ref if message_ref else Complaint.message_ref.is_(None)
    return db.session.scalars(select(Complaint).where(
        Complaint.account_id == contact.account_id, Complaint.contact_id == contact.id, ref)
        .order_by(Complaint.id).limit(1)).first()


def file_complaint(contact: Contact, *, category: str, source: str, ledger_source: str,
                   list_id: str | None = None, message_ref: str | None = None, text: str | None = None,
                   feedback_report_id: int | None = None, request_evidence: RequestEvidence | None = None,
                   evidence: dict | None = None) -> tuple[Complaint, bool]:
    """Record a complaint and everything it causes; ``(complaint, created)``, idempotent.

    ``request_evidence``: the web form's request (address, browser), kept beside the ledger event;
    ``evidence``: the complaint's own facts (a feedback report's, say).
    """
    if category not in ComplaintCategory.ALL:
        raise ValidationFailed(f"unknown category {category!r}")
    account = lock(contact.account)  # one complaint of an account at a time
    message_ref = (message_ref or "")[:500] or None
    existing = find_complaint(contact, message_ref)
    if existing is not None:
        return existing, False
    list_id = _own_list(contact, list_id)
    complaint = Complaint(account_id=account.id, contact_id=contact.id, list_id=list_id, category=category,
                          text=sanitise_text(text), message_ref=message_ref, source=source,
                          feedback_report_id=feedback_report_id, evidence=dict(evidence or {}))
    db.session.add(complaint)
    db.session.flush()
    facts = _consequences(contact, complaint, ledger_source, request_evidence or RequestEvidence())
    complaint.evidence = dict(complaint.evidence, **facts)
    on_complaint(account, complaint)
    db.session.flush()
    return complaint, True


def _own_list(contact: Contact, list_id: str | None) -> str | None:
    mailing_list = db.session.get(MailingList, list_id) if list_id else None
    return mailing_list.id if mailing_list is not None and mailing_list.account_id == contact.account_id else None


def _consequences(contact: Contact, complaint: Complaint, source: str, seen: RequestEvidence) -> dict:
    """Suppress, mark subscriptions, write the ledger; the facts for the complaint's evidence."""
    added = None
    channel = "web_complaint" if complaint.source == "web" else "fbl_complaint"
    if contact.email:  # an erased contact has nothing left to suppress by address
        added = suppressions.add(contact.email, scope="account", reason="complaint",
                                 account_id=contact.account_id, source=source, channel=channel)
    moved = [sub.list_id for sub in contact.subscriptions
             if subscriptions.can(sub, "complain") and subscriptions.apply(sub, "complain")]
    event = record(EventType.COMPLAINED, contact=contact, source=source, list_id=complaint.list_id,
                   ip=seen.ip, user_agent=seen.user_agent, message_ref=complaint.message_ref,
                   evidence={"complaint_id": complaint.id, "category": complaint.category,
                             "channel": channel, "lists": moved})
    suppressions.link(added, event.id)
    webhooks.emit(contact.account_id, "complained", {"contact_id": contact.id, "email": contact.email,
                                                     "list_id": complaint.list_id, "category": complaint.category,
                                                     "source": complaint.source})
    if added is not None:
        record(EventType.SUPPRESSED, contact=contact, source=source,
               evidence={"scope": "account", "reason": "complaint", "complaint_id": complaint.id})
    return {"channel": channel, "ledger_event_id": event.id, "suppression_added": added is not None,
            "lists_complained": moved}


# --- the web form ------------------------------------------------------------------------

def reported(holder: holders.Holder) -> bool:
    """Whether the person has already reported the message a complaint link names."""
    return find_complaint(holder.contact, (holder.message_ref or "")[:500] or None) is not None


def complain_by_link(token: str, *, category: str, text: str | None,
                     request_evidence: RequestEvidence) -> Complaint:
    """The complaint form's post: the link is the credential (see :func:`holders.resolve`)."""
    holder = holders.resolve("complaint", token)
    complaint, _created = file_complaint(
        holder.contact, category=category, source="web", ledger_source="complaint_form",
        list_id=holder.mailing_list.id if holder.mailing_list else None, message_ref=holder.message_ref,
        text=text, request_evidence=request_evidence)
    return complaint


# --- feedback-loop reports ---------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    """Whom a report is about, and how that was found."""

    contact: Contact
    list_id: str | None
    message_ref: str | None
    via: str


def resolve(report: arf.Report) -> Match | None:
    """The contact of a report: the original's List-Unsubscribe token, then Original-Rcpt-To
    (and Outlook's recipient hint), then the original's To. An address alone must name
    exactly one account's contact."""
    for purpose, token in report.link_tokens():
        try:
            target = links.load_target(purpose, token)
        except TokenInvalid:
            continue
        contact = db.session.get(Contact, target.contact_id)
        if contact is not None:
            return Match(contact, target.list_id, target.message_ref or report.message_id, "list_unsubscribe")
    for addresses, via in ((report.recipient_hints(), "original_rcpt_to"), (report.to_addresses(), "to")):
        for address in addresses:
            contact = unambiguous_contact(address)
            if contact is not None:
                return Match(contact, None, report.message_id, via)
    return None


def unambiguous_contact(address: str) -> Contact | None:
    """The one contact with this address across all accounts; None when none or several."""
    from portal.addresses import email_hash, try_normalise

    normalised = try_normalise(address)
    if normalised is None:
        return None
    contacts = list(db.session.scalars(select(Contact).where(
        Contact.email_hash == email_hash(normalised)).limit(2)))
    return contacts[0] if len(contacts) == 1 else None


def decide(report: arf.Report, match: Match | None) -> str:
    """The action a report gets (STANDARDS G-8); a report can only ever add suppressions."""
    if report.malformed or report.kind == arf.Kind.UNRECOGNISED:
        return Action.REVIEW
    if report.feedback_type in FEEDBACK_CATEGORIES:
        return Action.COMPLAINT if match is not None else Action.REVIEW
    if report.feedback_type == "not-spam":
        return Action.NONE
    if report.feedback_type in ("auth-failure", "virus"):
        return Action.KEPT
    return Action.REVIEW


def ingest_report(raw: bytes) -> tuple[FeedbackReport, bool]:
    """Store a feedback report and act on it; ``(report, created)``. The same bytes count once.

    :raises arf.NotAMessage: the bytes are not a mail message; nothing is stored.
    """
    digest = hashlib.sha256(raw).hexdigest()
    existing = _report_by_digest(digest)
    if existing is not None:
        return existing, False
    report = arf.parse(raw)
    match = resolve(report) if report.kind != arf.Kind.UNRECOGNISED else None
    action = decide(report, match)
    row = FeedbackReport(raw_sha256=digest, raw=raw, feedback_type=report.feedback_type,
                         matched=match is not None, action=action, details=report.details(),
                         account_id=match.contact.account_id if match else None,
                         contact_id=match.contact.id if match else None,
                         list_id=_own_list(match.contact, match.list_id) if match else None,
                         review_status=ReviewStatus.OPEN if action == Action.REVIEW else None)
    if match is not None:
        row.details = dict(row.details, matched_via=match.via)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same report, stored by a concurrent request
        return _report_by_digest(digest), False
    if action == Action.COMPLAINT:
        _complain_from_report(row, report, match)
    return row, True


def _report_by_digest(digest: str) -> FeedbackReport | None:
    return db.session.scalars(select(FeedbackReport).where(FeedbackReport.raw_sha256 == digest)).first()


def _complain_from_report(row: FeedbackReport, report: arf.Report, match: Match) -> None:
    # The complaint is the person's own ("this is spam"), relayed by the mailbox provider and the
    # platform's key, as a mail unsubscribe is.
    with actors.acting_as(actors.relayed_by_key()):
        _file_reported(row, report, match)


def _file_reported(row: FeedbackReport, report: arf.Report, match: Match) -> None:
    complaint, created = file_complaint(
        match.contact, category=FEEDBACK_CATEGORIES[report.feedback_type], source="feedback_loop",
        ledger_source=f"feedback:{row.id}", list_id=match.list_id, message_ref=match.message_ref,
        feedback_report_id=row.id, evidence={"feedback_type": report.feedback_type, "matched_via": match.via,
                                             "report_id": row.id})
    row.details = dict(row.details, complaint_id=complaint.id, complaint_was_known=not created)
    db.session.flush()
