"""Double opt-in: a signup request, its confirmation mail, and confirming or declining it.

A confirmation link names one :class:`SignupRequest`. It is honoured for a list only while
that request is the subscription's current one and is younger than the latest unsubscribe,
so an old link never subscribes again someone who has since withdrawn (STANDARDS I-11).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.accounts.models import Account, AccountStatus
from portal.addresses import is_role_address, normalise
from portal.consent.operations import record
from portal.consent.evidence import RequestEvidence
from portal.consent.models import ConsentEvent, EventType
from portal.db import isoformat, utcnow
from portal.errors import TokenInvalid
from portal.extensions import db
from portal.receipts import emails as receipt_mail
from portal.subscriptions import emails
from portal.subscriptions.models import Contact, Form, MailingList, SignupRequest, Subscription, SubscriptionStatus
from portal.subscriptions.operations import (apply, find_contact, get_or_create_contact, get_or_create_subscription,
                                             hosted_url, lock_contact, origin_of, retire_erased)
from portal.suppression import operations as suppression
from portal.suppression.models import SuppressionChannel, SuppressionReason, SuppressionScope
from portal.webhooks import operations as webhooks

#: Suppression reasons a new signup by the person may lift once confirmed: they are asking again.
#: An erasure is lifted only by a signup through a form (the person's own new signup).
LIFTED_BY_CONSENT = frozenset({SuppressionReason.UNSUBSCRIBED, SuppressionReason.ERASED})
#: Requests of a person giving consent back from their own links: confirmed as ``resubscribed``.
REJOIN_SOURCES = frozenset({"preferences", "undo"})
#: Account states whose forms mail nothing (the answer to the signup stays the same).
_WITHHOLDING = {AccountStatus.SUSPENDED: "account_suspended", AccountStatus.DEACTIVATED: "account_deactivated"}


def lifted_by(request: SignupRequest) -> frozenset[str]:
    """The suppression reasons the confirmation of ``request`` lifts."""
    if request.source == "form":
        return LIFTED_BY_CONSENT
    return frozenset({SuppressionReason.UNSUBSCRIBED})


def trusted_page_url(form: Form, url: str | None) -> str | None:
    """``url`` when it is on one of the form's allowed origins or is its hosted page; else None
    (an untrusted page URL is neither stored nor shown in a mail)."""
    if not url or origin_of(url) is None:
        return None
    if origin_of(url) in (form.allowed_origins or []):
        return url
    hosted = hosted_url(form)
    if url == hosted or url.startswith((hosted + "?", hosted + "#")):
        return url
    return None


@dataclass(frozen=True)
class SignupOutcome:
    """What a confirm or decline did: ``confirmed``, ``already_confirmed``, ``declined``, ``already_declined``;
    for the GET page of a link (:func:`current`): ``pending``, ``subscribed``, ``declined`` or ``left``."""

    status: str
    account: Account
    lists: list[MailingList]
    #: The address the link is about (None once erased): pages show it masked.
    address: str | None = None


def _blocking(address: str, account_id: str, list_id: str | None = None) -> list:
    """Suppressions that a signup may not override (complaint, bounce, manual, erased...)."""
    return [entry for entry in suppression.entries_for(address, account_id, list_id)
            if entry.reason not in LIFTED_BY_CONSENT]


def _wanted_lists(form: Form, contact: Contact | None, address: str) -> list[tuple[MailingList, Subscription | None]]:
    """The form's lists this signup may (re-)request: not confirmed, complained or suppressed."""
    wanted = []
    for mailing_list in form.lists:
        subscription = None if contact is None else db.session.scalars(select(Subscription).where(
            Subscription.contact_id == contact.id, Subscription.list_id == mailing_list.id)).first()
        status = subscription.status if subscription else None
        if status in (SubscriptionStatus.CONFIRMED, SubscriptionStatus.COMPLAINED):
            continue
        if _blocking(address, form.account_id, mailing_list.id):
            continue
        wanted.append((mailing_list, subscription))
    return wanted


def confirmations_sent_today(contact: Contact) -> int:
    """Confirmation mails queued for ``contact`` in the last 24 hours (the I-14 cap counts these)."""
    since = utcnow() - timedelta(days=1)
    return db.session.scalar(select(func.count(func.distinct(ConsentEvent.message_ref))).where(
        ConsentEvent.contact_id == contact.id, ConsentEvent.type == EventType.CONFIRMATION_SENT,
        ConsentEvent.occurred_at >= since)) or 0


def _reusable(wanted, form: Form, locale: str) -> SignupRequest | None:
    """The pending request every wanted list already points to, if it asked for the same thing
    with the same words (the current consent text in the language of this page)."""
    ids = {subscription.signup_request_id for _list, subscription in wanted if subscription is not None
           and subscription.status == SubscriptionStatus.PENDING}
    if len(ids) != 1 or None in ids or any(sub is None or sub.status != SubscriptionStatus.PENDING for _l, sub in wanted):
        return None
    request = db.session.get(SignupRequest, ids.pop())
    if (request is None or request.form_id != form.id or request.consent_text_id != form.consent_text_for(locale).id
            or set(request.list_ids) != {mailing_list.id for mailing_list, _sub in wanted}):
        return None
    return request


def request_signup(form: Form, *, email: str, name: str | None = None, evidence: RequestEvidence,
                   locale: str = "en") -> SignupRequest | None:
    """A signup posted to ``form``: a request and its confirmation mail, when one is due.

    The caller answers the same whatever this returns. Nothing happens for a role address, a
    suppressed address, lists already confirmed, or once the daily cap of mails is reached.

    :raises InvalidAddress: the address is not valid (the only answer that differs).
    """
    address = normalise(email)
    account = form.account
    if is_role_address(address) or [e for e in _blocking(address, account.id) if e.scope != SuppressionScope.LIST]:
        return None
    known = find_contact(account.id, address)
    if not _wanted_lists(form, known, address):
        return None
    if known is not None and known.erased_at is not None:
        retire_erased(known)  # a new contact: the erased one's links stay dead
    contact = get_or_create_contact(account, address, name=name)
    lock_contact(contact)  # parallel signups of one address take turns from here
    wanted = _wanted_lists(form, contact, address)
    if not wanted:
        return None
    if confirmations_sent_today(contact) >= current_app.config["PORTAL_CONFIRMATIONS_PER_DAY"]:
        return None
    request = _reusable(wanted, form, locale) or _new_request(form, contact, wanted, evidence, submitted=(email, locale))
    queue_confirmation(request, locale=locale)
    return request


def _new_request(form: Form, contact: Contact, wanted, evidence: RequestEvidence,
                 submitted: tuple[str, str] = ("", "en")) -> SignupRequest:
    """Record a new request, make it current on each list, and log ``signup_requested``.

    :param submitted: the address as typed and the page's locale, kept in the ledger; the
        request records the consent text in that locale (the words the page showed).
    """
    consent = form.consent_text_for(submitted[1])
    request = SignupRequest(contact_id=contact.id, form_id=form.id, consent_text_id=consent.id,
                            list_ids=[mailing_list.id for mailing_list, _sub in wanted], source="form",
                            evidence={"form_id": form.id, "consent_text_version": consent.version,
                                      "page_host": emails.host_of(evidence.page_url)})
    db.session.add(request)
    db.session.flush()
    for mailing_list, _existing in wanted:
        subscription, _created = get_or_create_subscription(contact, mailing_list)
        apply(subscription, "request")
        subscription.signup_request_id = request.id
        record(EventType.SIGNUP_REQUESTED, contact=contact, source=f"form:{form.id}",
               list_id=mailing_list.id, ip=evidence.ip, user_agent=evidence.user_agent,
               page_url=evidence.page_url, consent_text_id=consent.id, email=submitted[0] or None,
               evidence={"signup_request_id": request.id, "form_id": form.id,
                         "consent_text_version": consent.version, "locale": submitted[1]})
    db.session.flush()
    return request


def queue_confirmation(request: SignupRequest, *, locale: str = "en") -> None:
    """Queue the confirmation mail of ``request`` and log ``confirmation_sent`` per list.

    A suspended or deactivated account's mail is withheld: ``confirmation_withheld`` says why.
    """
    contact = db.session.get(Contact, request.contact_id)
    lists = [db.session.get(MailingList, list_id) for list_id in request.list_ids]
    withheld = _WITHHOLDING.get(db.session.get(Account, contact.account_id).status)
    if withheld:
        for mailing_list in lists:
            record(EventType.CONFIRMATION_WITHHELD, contact=contact, source=f"signup_request:{request.id}",
                   list_id=mailing_list.id, consent_text_id=request.consent_text_id,
                   evidence={"signup_request_id": request.id, "reason": withheld})
        return
    message = emails.queue_confirmation(contact, lists, request, locale=locale)
    for mailing_list in lists:
        record(EventType.CONFIRMATION_SENT, contact=contact, source=f"signup_request:{request.id}",
               list_id=mailing_list.id, message_ref=message.payload["message_id"],
               consent_text_id=request.consent_text_id,
               evidence={"signup_request_id": request.id, "outbox_id": message.id,
                         "template": "confirmation", "mail_sha256": emails.digest(message)})


def _honoured(request: SignupRequest) -> list[Subscription]:
    """The subscriptions this request still speaks for (current request, no later unsubscribe)."""
    subscriptions = []
    for list_id in request.list_ids:
        subscription = db.session.scalars(select(Subscription).where(
            Subscription.contact_id == request.contact_id, Subscription.list_id == list_id)).first()
        if subscription is None or subscription.signup_request_id != request.id:
            continue
        if subscription.unsubscribed_at is not None and subscription.unsubscribed_at >= request.created_at:
            continue
        subscriptions.append(subscription)
    return subscriptions


def used(request_id: int, *, lock: bool = False) -> SignupOutcome | None:
    """What a link already used did (confirmed, or declined), or None while it is unused.

    Read from the request and its own ledger events, never from the address's present state, so a
    replayed link answers the same whether the person is still subscribed, left since, or was
    erased: it never subscribes again and tells nothing new. ``lock``: take the contact's lock
    first (a second click waits for the first, then sees it used).
    """
    request = db.session.get(SignupRequest, request_id)
    contact = db.session.get(Contact, request.contact_id) if request is not None else None
    if contact is not None and lock:
        lock_contact(contact)
        request = db.session.get(SignupRequest, request_id)
    if request is None or (request.confirmed_at is None and request.declined_at is None):
        return None
    confirmed = request.confirmed_at is not None
    types = (EventType.CONFIRMED, EventType.RESUBSCRIBED) if confirmed else (EventType.DECLINED,)
    list_ids = db.session.scalars(select(ConsentEvent.list_id).where(
        ConsentEvent.contact_id == request.contact_id, ConsentEvent.source == f"signup_request:{request.id}",
        ConsentEvent.type.in_(types)).order_by(ConsentEvent.seq))
    lists = [db.session.get(MailingList, list_id) for list_id in dict.fromkeys(list_ids) if list_id]
    # No address: it would tell whether the person was erased since.
    return SignupOutcome("already_confirmed" if confirmed else "already_declined", account_of_request(request_id), lists)


def _load(request_id: int, *, lock: bool = False) -> tuple[SignupRequest, Contact, list[Subscription]]:
    """The request of a link, its contact and the subscriptions it may act on; else TokenInvalid.

    ``lock``: take the contact's row lock first (to change state: one click of many wins).
    """
    request = db.session.get(SignupRequest, request_id)
    contact = db.session.get(Contact, request.contact_id) if request else None
    if contact is not None and lock:
        lock_contact(contact)
        request, contact = db.session.get(SignupRequest, request_id), db.session.get(Contact, contact.id)
    if request is None or contact is None or contact.erased_at is not None or contact.email is None:
        raise TokenInvalid()
    subscriptions = _honoured(request)
    if not subscriptions:
        raise TokenInvalid()
    return request, contact, subscriptions


def _outcome(status: str, contact: Contact, subscriptions: list[Subscription]) -> SignupOutcome:
    return SignupOutcome(status, db.session.get(Account, contact.account_id), [s.list for s in subscriptions], contact.email)


def preview(request_id: int) -> SignupOutcome:
    """What a confirmation link would act on, without changing anything (for the GET page);
    for a link already used, what it did (:func:`used`)."""
    done = used(request_id)
    if done is not None:
        return done
    _request, contact, subscriptions = _load(request_id)
    return _outcome("pending", contact, subscriptions)


def current(request_id: int) -> SignupOutcome:
    """Where the link's holder stands now, read only (the GET page of a link, issue 20).

    ``pending`` (the question), ``declined`` (its own "no", whatever came after), ``subscribed``
    (confirmed and still on some of its lists: those, with the address) or ``left`` (confirmed,
    and since unsubscribed, complained or erased: one answer for all, so erasure is not told).
    """
    done = used(request_id)
    if done is None:
        return preview(request_id)
    if done.status == "already_declined":
        return SignupOutcome("declined", done.account, done.lists)
    request = db.session.get(SignupRequest, request_id)
    contact = db.session.get(Contact, request.contact_id)
    staying = sorted(_still_on(contact, request.list_ids), key=lambda s: request.list_ids.index(s.list_id))
    if staying:
        return SignupOutcome("subscribed", done.account, [s.list for s in staying], contact.email)
    return SignupOutcome("left", done.account, done.lists)


def _still_on(contact: Contact, list_ids: list[str]) -> list[Subscription]:
    """The contact's confirmed subscriptions among ``list_ids``; none once erased."""
    if contact.erased_at is not None or contact.email is None:
        return []
    return list(db.session.scalars(select(Subscription).where(
        Subscription.contact_id == contact.id, Subscription.list_id.in_(list_ids),
        Subscription.status == SubscriptionStatus.CONFIRMED)))


def _open(request_id: int, goal: str) -> SignupOutcome | tuple[SignupRequest, Contact, list[Subscription],
                                                                list[Subscription]]:
    """What confirming and declining start from: the request (locked), its contact, its
    subscriptions and the pending ones; or, when there is nothing left to do, the answer: a used
    link's (:func:`used`), or ``already_<goal>`` when every list already is ``goal``.

    :raises TokenInvalid: nothing is pending and the lists are not all ``goal`` (superseded, withdrawn).
    """
    done = used(request_id, lock=True)
    if done is not None:
        return done
    request, contact, subscriptions = _load(request_id)
    pending = [s for s in subscriptions if s.status == SubscriptionStatus.PENDING]
    if pending:
        return request, contact, subscriptions, pending
    if all(s.status == goal for s in subscriptions):
        return _outcome(f"already_{goal}", contact, subscriptions)
    raise TokenInvalid()


def confirm(request_id: int, *, evidence: RequestEvidence) -> SignupOutcome:
    """Confirm every list of the request that it still speaks for; a used link answers what it
    did (:func:`used`) and changes nothing.

    :raises TokenInvalid: the request is unknown, superseded, withdrawn since, or blocked.
    """
    opened = _open(request_id, SubscriptionStatus.CONFIRMED)
    if isinstance(opened, SignupOutcome):
        return opened
    request, contact, subscriptions, pending = opened
    if [e for e in suppression.entries_for(contact.email, contact.account_id)
            if e.reason not in lifted_by(request) and e.scope != SuppressionScope.LIST]:
        raise TokenInvalid()
    now = utcnow()
    for subscription in pending:
        type_ = _confirmed_as(request, subscription)
        changed = _lift_withdrawals(contact, subscription.list_id, request)
        apply(subscription, "confirm", at=now)
        event = record(type_, contact=contact, source=f"signup_request:{request.id}",
                       list_id=subscription.list_id, ip=evidence.ip, user_agent=evidence.user_agent,
                       consent_text_id=request.consent_text_id,
                       evidence={"signup_request_id": request.id, "request_source": request.source,
                                 "form_id": request.form_id})
        for entry in changed:  # the suppression feed names this confirmation as the cause
            suppression.link(entry, event.id)
        webhooks.emit(contact.account_id, "confirmed", {"contact_id": contact.id, "email": contact.email,
                                                        "list_id": subscription.list_id,
                                                        "confirmed_at": isoformat(now)})
    request.confirmed_at = request.confirmed_at or now
    db.session.flush()
    receipt_mail.queue_subscribed(contact, [s.list for s in pending], request)  # the receipt, the ways out
    return _outcome("confirmed", contact, subscriptions)


def _confirmed_as(request: SignupRequest, subscription: Subscription) -> str:
    """``resubscribed`` when the person gives back, from their own links, a list they had been
    confirmed on (consent given back after an opt-out); else ``confirmed`` (a list joined anew)."""
    if request.source in REJOIN_SOURCES and subscription.confirmed_at is not None:
        return EventType.RESUBSCRIBED
    return EventType.CONFIRMED


def _lift_withdrawals(contact: Contact, list_id: str, request: SignupRequest) -> list:
    """A confirmed new request overrides the person's own earlier opt-outs for its lists.

    An account-wide one ("everything", an erasure) then stays for every other list of the
    account, as a list suppression: the person chose these lists, not the rest. Returns the
    suppression entries changed (their feed rows then name the confirmation).
    """
    changed = []
    for entry in suppression.entries_for(contact.email, contact.account_id, list_id):
        if entry.reason in lifted_by(request) and entry.scope != SuppressionScope.GLOBAL:
            if entry.scope == SuppressionScope.ACCOUNT:
                changed += _keep_for_other_lists(contact, request)
            suppression.remove(entry, note=f"confirmed signup request {request.id}",
                               source=f"signup_request:{request.id}", channel=SuppressionChannel.CONFIRMATION)
            changed.append(entry)
    return changed


def _keep_for_other_lists(contact: Contact, request: SignupRequest) -> list:
    others = db.session.scalars(select(MailingList.id).where(
        MailingList.account_id == contact.account_id, MailingList.id.not_in(request.list_ids)))
    return [suppression.add(contact.email, scope=SuppressionScope.LIST, reason=SuppressionReason.UNSUBSCRIBED,
                            account_id=contact.account_id, list_id=other, source=f"signup_request:{request.id}",
                            note="left everything before; rejoined other lists only",
                            channel=SuppressionChannel.CONFIRMATION) for other in others]


def decline(request_id: int, *, evidence: RequestEvidence) -> SignupOutcome:
    """"No thanks": the pending lists of the request become ``declined``; a used link answers
    what it did (:func:`used`) and changes nothing."""
    opened = _open(request_id, SubscriptionStatus.DECLINED)
    if isinstance(opened, SignupOutcome):
        return opened
    request, contact, subscriptions, pending = opened
    for subscription in pending:
        apply(subscription, "decline")
        record(EventType.DECLINED, contact=contact, source=f"signup_request:{request.id}",
               list_id=subscription.list_id, ip=evidence.ip, user_agent=evidence.user_agent,
               consent_text_id=request.consent_text_id, evidence={"signup_request_id": request.id})
    request.declined_at = request.declined_at or utcnow()
    db.session.flush()
    return _outcome("declined", contact, subscriptions)


def resend(request_id: int, *, locale: str = "en") -> bool:
    """A fresh link for a request that is still pending and current, within the daily cap."""
    try:
        request, contact, subscriptions = _load(request_id, lock=True)
    except TokenInvalid:
        return False
    if not any(s.status == SubscriptionStatus.PENDING for s in subscriptions):
        return False
    if confirmations_sent_today(contact) >= current_app.config["PORTAL_CONFIRMATIONS_PER_DAY"]:
        return False
    queue_confirmation(request, locale=locale)
    return True


def account_of_request(request_id: int) -> Account | None:
    """The account a request belongs to (to dress a page in its name), or None."""
    request = db.session.get(SignupRequest, request_id)
    contact = db.session.get(Contact, request.contact_id) if request else None
    return db.session.get(Account, contact.account_id) if contact else None
