"""The notice mails of a new privacy notice version: released a chunk a minute, sent as references.

Each due chunk (``per_minute`` confirmed contacts in contact id order) is one read and one insert of
outbox rows holding ids only (``kind`` ``privacy_notice``, rendered when sent, as imports' mails
are); the outbox worker runs :func:`release_due` before each pass, so the mailing paces itself
without a process of its own. Each mail records ``privacy_notice_sent`` in the ledger when it
leaves; one whose person is no longer a confirmed subscriber, or whose version a newer one has
replaced, is cancelled then.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, update

from portal.accounts.models import Account, AccountStatus
from portal.consent.models import EventType
from portal.db import isoformat, utcnow
from portal.extensions import db
from portal.notices.models import PLATFORM, MailingStatus, NoticeMailing, PrivacyNotice
from portal.outbox import identity
from portal.outbox.operations import MessageCancelled, Reference, context_loader, enqueue_many, producer
from portal.subscriptions.models import Contact, Subscription, SubscriptionStatus

KIND = "privacy_notice"
#: Chunks one pass releases at most (a worker that was down catches up over a few passes).
CHUNKS_PER_PASS = 20


def _audience(account_id: str | None):
    """Contacts a version concerns: an account's confirmed contacts; for the platform's, those of
    every account without a notice of its own."""
    confirmed = exists().where(Subscription.contact_id == Contact.id, Subscription.status == SubscriptionStatus.CONFIRMED)
    query = select(Contact.id, Contact.email, Contact.account_id).where(
        Contact.email.is_not(None), Contact.erased_at.is_(None), confirmed)
    if account_id is not None:
        return query.where(Contact.account_id == account_id)
    own = exists().where(PrivacyNotice.owner == "account:" + Contact.account_id)
    return query.where(~own)


def recipients_count(account_id: str | None) -> int:
    """How many people a new version of this owner's notice must be mailed to (one statement)."""
    return db.session.scalar(select(func.count()).select_from(_audience(account_id).subquery()))


def _mails(notice: PrivacyNotice, recipients: list, at: datetime) -> list[Reference]:
    """The mails of one chunk: references (ids), rendered when each is sent."""
    accounts, sent = {}, {"id": notice.id, "version": notice.version, "sha256": notice.sha256,
                          "effective_at": isoformat(notice.effective_at)}
    mails = []
    for contact_id, email, account_id in recipients:
        if account_id not in accounts:
            accounts[account_id] = _sender_of(account_id)
        locale, sender = accounts[account_id]
        mails.append(Reference(email, account_id, {
            "notice_id": notice.id, "account_id": account_id, "contact_id": contact_id,
            "ledger": {"type": EventType.PRIVACY_NOTICE_SENT, "contact_id": contact_id,
                       "source": f"privacy_notice:{notice.id}", "evidence": {"notice_sent": sent}}},
            locale, sender, at))
    return mails


def _sender_of(account_id: str) -> tuple[str, dict[str, Any]]:
    """An account's mail locale and its sender (the notice goes from the account, sent by the platform)."""
    account = db.session.get(Account, account_id)
    return account.locale or "en", identity.for_account(account)


def _release(mailing: NoticeMailing, now: datetime) -> bool:
    """Release the mailing's next chunk into the outbox; False when it is finished."""
    due = mailing.start_at + timedelta(minutes=mailing.next_chunk)
    if due < now - timedelta(minutes=1):  # the worker was away: keep the pace from now on
        mailing.start_at, due = now - timedelta(minutes=mailing.next_chunk), now
    notice = db.session.get(PrivacyNotice, mailing.notice_id)
    chunk = db.session.execute(_audience(notice.account_id).where(Contact.id > mailing.after_contact_id)
                               .order_by(Contact.id).limit(mailing.per_minute)).all()
    # Names the chunk it takes: two workers never release the same one.
    claimed = db.session.execute(
        update(NoticeMailing).where(NoticeMailing.id == mailing.id, NoticeMailing.next_chunk == mailing.next_chunk)
        .values(next_chunk=mailing.next_chunk + 1, start_at=mailing.start_at,
                after_contact_id=chunk[-1].id if chunk else mailing.after_contact_id,
                queued=mailing.queued + len(chunk),
                status=MailingStatus.RUNNING if len(chunk) == mailing.per_minute else MailingStatus.DONE,
                finished_at=None if len(chunk) == mailing.per_minute else now)
        .execution_options(synchronize_session=False)).rowcount
    if claimed and chunk:
        enqueue_many(KIND, _mails(notice, chunk, due))
    db.session.expire(mailing)
    return bool(claimed) and len(chunk) == mailing.per_minute


@producer
def release_due(now: datetime | None = None) -> int:
    """Release every chunk that falls due within the next minute (flushes; the worker commits)."""
    now, released = now or utcnow(), 0
    ahead = now + timedelta(minutes=1)
    mailings = select(NoticeMailing).where(NoticeMailing.status == MailingStatus.RUNNING).order_by(NoticeMailing.id)
    if db.session.get_bind().dialect.name == "postgresql":
        mailings = mailings.with_for_update(skip_locked=True)
    for mailing in db.session.scalars(mailings).all():
        while released < CHUNKS_PER_PASS and mailing.start_at + timedelta(minutes=mailing.next_chunk) <= ahead:
            released += 1
            if not _release(mailing, now):
                break
    db.session.flush()
    return released


@context_loader(KIND)
def load_context(reference: dict[str, Any]) -> dict[str, Any]:
    """The template's context of a notice mail, read when it is sent.

    :raises MessageCancelled: the person is no longer a confirmed subscriber of the account, the
        account may not send, or a newer version of the notice replaced this one (its own mail tells).
    """
    from portal import links
    from portal.notices.operations.publishing import notice_url

    notice = db.session.get(PrivacyNotice, reference["notice_id"])
    account = db.session.get(Account, reference["account_id"])
    contact = db.session.get(Contact, reference["contact_id"])
    if contact is None or contact.email is None or contact.erased_at is not None or not _confirmed(contact):
        raise MessageCancelled("the person is no longer subscribed")
    if account is None or account.status in (AccountStatus.SUSPENDED, AccountStatus.DEACTIVATED):
        raise MessageCancelled("the account may not send")
    if _replaced(notice):
        raise MessageCancelled(f"version {notice.version} was replaced by a newer one, which is mailed too")
    return {"account": account, "notice": notice, "platform": notice.owner == PLATFORM,
            "content": notice.content, "notice_url": notice_url(notice),
            "preferences_url": links.preferences_url(links.Target(contact.id))}


def _confirmed(contact: Contact) -> bool:
    return db.session.scalar(select(exists().where(Subscription.contact_id == contact.id,
                                                   Subscription.status == SubscriptionStatus.CONFIRMED)))


def _replaced(notice: PrivacyNotice) -> bool:
    return db.session.scalar(select(exists().where(PrivacyNotice.owner == notice.owner,
                                                   PrivacyNotice.version > notice.version)))
