"""Removing one contact's personal data from every table (shared by erasure and retention).

Each table keeps its row (ids, times, states, hashes) so counts, chains and suppressions still
hold; only the fields that say who the person is are set to NULL or to :data:`MARKER`.
"""
from __future__ import annotations

import re

from sqlalchemy import func, or_, select, update

from portal.complaints.models import Complaint, FeedbackReport
from portal.consent.operations import redact
from portal.db import utcnow
from portal.extensions import db
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.subscriptions.models import Contact, SignupRequest
from portal.subscriptions.personal import MARKER, mentions, needles, scrub  # noqa: F401 (needles: for erasure and retention)
from portal.suppression.models import Suppression, SuppressionChange


def redact_contact(contact: Contact, found: list[str]) -> None:
    """Erase the contact's personal data everywhere within its account (flushes)."""
    _complaints(contact, found)
    _suppressions(contact)
    _signup_requests(contact, found)
    _outbox(contact, found)
    _feedback_reports(contact, found)
    _refused_import_rows(contact)
    redact(contact.id)
    contact.email = None
    contact.name = None
    contact.erased_at = contact.erased_at or utcnow()
    db.session.flush()


def _complaints(contact: Contact, found: list[str]) -> None:
    for complaint in db.session.scalars(select(Complaint).where(Complaint.contact_id == contact.id)):
        complaint.text = None
        complaint.evidence = scrub(complaint.evidence or {}, found)


def _suppressions(contact: Contact) -> None:
    """The address goes; the hash stays, so every suppression keeps working."""
    for model in (Suppression, SuppressionChange):
        db.session.execute(update(model).where(
            model.email_hash == contact.email_hash, model.account_id == contact.account_id)
            .values(email=None).execution_options(synchronize_session="fetch"))


def _refused_import_rows(contact: Contact) -> None:
    """Rows of the account's imports refused for this address keep their reason, not the address."""
    from portal.imports.models import Import, RefusedRow

    imports = select(Import.id).where(Import.account_id == contact.account_id)
    db.session.execute(update(RefusedRow).where(
        RefusedRow.email_hash == contact.email_hash, RefusedRow.import_id.in_(imports))
        .values(email=None).execution_options(synchronize_session=False))


def _signup_requests(contact: Contact, found: list[str]) -> None:
    for request in db.session.scalars(select(SignupRequest).where(SignupRequest.contact_id == contact.id)):
        request.evidence = scrub(request.evidence or {}, found)


def _outbox(contact: Contact, found: list[str]) -> None:
    """Mail addressed to them, and webhook calls that name them: emptied; pending ones never leave."""
    address = (contact.email or "").lower()
    query = select(OutboxMessage).where(OutboxMessage.account_id == contact.account_id)
    if address:
        query = query.where(or_(func.lower(OutboxMessage.recipient) == address, OutboxMessage.channel != "mail"))
    else:
        query = query.where(OutboxMessage.channel != "mail")
    for message in db.session.scalars(query.execution_options(yield_per=500)):
        if message.recipient.lower() == address or mentions(message.payload, found):
            if message.status == OutboxStatus.PENDING:
                message.status = OutboxStatus.FAILED
            if message.channel == "mail":
                message.recipient = MARKER
            message.payload = {"erased": True}
            message.last_error = MARKER if message.last_error else None


def _feedback_reports(contact: Contact, found: list[str]) -> None:
    """Reports matched to them lose their raw bytes; unmatched ones lose each mention of them."""
    for report in db.session.scalars(select(FeedbackReport).where(FeedbackReport.contact_id == contact.id)):
        report.raw = MARKER.encode()
        report.details = scrub(report.details or {}, found)
    unmatched = select(FeedbackReport).where(
        FeedbackReport.contact_id.is_(None),
        or_(FeedbackReport.account_id.is_(None), FeedbackReport.account_id == contact.account_id))
    for report in db.session.scalars(unmatched.execution_options(yield_per=100)):
        if mentions(report.raw, found) or mentions(report.details, found):
            report.raw = _blank_out(report.raw, found)
            report.details = scrub(report.details or {}, found)


def _blank_out(raw: bytes, found: list[str]) -> bytes:
    pattern = re.compile(b"|".join(re.escape(n.encode()) for n in found), re.IGNORECASE)
    return pattern.sub(MARKER.encode(), raw)
