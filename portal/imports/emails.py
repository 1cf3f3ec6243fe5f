"""The re-permission mail: asks an imported contact to confirm before anything else is sent."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account, AccountStatus
from portal.consent.models import EventType
from portal.links import confirm_url
from portal.outbox import identity
from portal.outbox.operations import MessageCancelled, Reference, context_loader, enqueue_many
from portal.subscriptions.models import MailingList

KIND = "repermission"


def repermission_context(account: Account, mailing_list: MailingList, signup_request_id: int) -> dict[str, Any]:
    """What the template set ``templates/email/repermission/`` needs."""
    return {"account": account, "list": mailing_list, "confirm_url": confirm_url(signup_request_id)}


@context_loader(KIND)
def load_context(reference: dict[str, Any]) -> dict[str, Any]:
    """The template's context of a stored re-permission mail, read when it is sent.

    :raises MessageCancelled: the person is no longer waiting to confirm (they unsubscribed,
        confirmed already, were erased) or the account may not send.
    """
    from portal.extensions import db
    from portal.subscriptions.models import Contact, Subscription, SubscriptionStatus

    account = db.session.get(Account, reference["account_id"])
    mailing_list = db.session.get(MailingList, reference["list_id"])
    contact = db.session.get(Contact, reference["ledger"]["contact_id"])
    subscription = db.session.scalar(select(Subscription).where(
        Subscription.contact_id == reference["ledger"]["contact_id"], Subscription.list_id == reference["list_id"]))
    if contact is None or contact.erased_at is not None or subscription is None \
            or subscription.status != SubscriptionStatus.PENDING:
        raise MessageCancelled("the subscription is no longer waiting for confirmation")
    if account is None or account.status in (AccountStatus.SUSPENDED, AccountStatus.DEACTIVATED):
        raise MessageCancelled("the account may not send")
    return repermission_context(account, mailing_list, reference["signup_request_id"])


def send_at(start: datetime, index: int, per_minute: int) -> datetime:
    """When the ``index``-th re-permission mail of an import may leave: ``per_minute`` a minute."""
    return start + timedelta(minutes=index // max(per_minute, 1))


def queue_repermission(account: Account, mailing_list: MailingList, recipients: list[tuple[str, int, int]],
                       *, import_id: str, first_index: int, start: datetime) -> int:
    """Queue a mail for each (address, contact id, signup request id), stored as references; how many.

    Nothing is rendered here: the outbox renders each mail when it sends it (see
    :func:`load_context`) and records ``confirmation_sent`` in the ledger then. The mails are
    spread over time (``PORTAL_IMPORT_MAILS_PER_MINUTE``) so an import never floods anyone's inbox.
    """
    per_minute = current_app.config["PORTAL_IMPORT_MAILS_PER_MINUTE"]
    locale, sender = account.locale or "en", identity.for_account(account)
    return enqueue_many(KIND, (
        Reference(address, account.id, {
            "account_id": account.id, "list_id": mailing_list.id, "signup_request_id": request_id,
            "ledger": {"type": EventType.CONFIRMATION_SENT, "contact_id": contact_id, "list_id": mailing_list.id,
                       "source": f"import:{import_id}",
                       "evidence": {"import_id": import_id, "signup_request_id": request_id}}},
            locale, sender, send_at(start, first_index + offset, per_minute))
        for offset, (address, contact_id, request_id) in enumerate(recipients)))
