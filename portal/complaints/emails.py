"""The notices a complaint sends to the account: a warning, then a suspension.

Each names the complaint (category, date, list, how it came) but never the subscriber.
"""
from __future__ import annotations

from typing import Any

from portal.accounts.models import Account
from portal.complaints.models import Complaint, ComplaintCategory, ReviewCase
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox.operations import enqueue_mail


def complaint_context(account: Account, complaint: Complaint) -> dict[str, Any]:
    """What the notices say of the account and the complaint; no subscriber data."""
    from portal.subscriptions.models import MailingList

    mailing_list = db.session.get(MailingList, complaint.list_id) if complaint.list_id else None
    return {
        "account": account,
        "category": ComplaintCategory.NAMES.get(complaint.category, complaint.category),
        "complained_at": complaint.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "list_name": mailing_list.name if mailing_list else None,
        "source": complaint.source,
        "complaint_id": complaint.id,
    }


def send_warning(account: Account, complaint: Complaint) -> OutboxMessage:
    """Queue the warning mail to the account's contact email."""
    return enqueue_mail("account_warning", to=account.contact_email, locale=account.locale,
                        context=complaint_context(account, complaint), account_id=account.id)


def send_suspension(account: Account, complaint: Complaint, review: ReviewCase) -> OutboxMessage:
    """Queue the suspension notice, naming the review that is now open."""
    context = dict(complaint_context(account, complaint), review_id=review.id)
    return enqueue_mail("account_suspended", to=account.contact_email, locale=account.locale,
                        context=context, account_id=account.id)
