"""A contact's consent receipt: one JSON document in the shape of ISO/IEC TS 27560 and the
Kantara Consent Receipt (v1.1), built from the ledger."""
from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from sqlalchemy import select

from portal import links
from portal.consent.models import ConsentEvent, EventType
from portal.db import isoformat
from portal.extensions import db
from portal.subscriptions import holders
from portal.subscriptions.models import ConsentText, Contact, Subscription, SubscriptionStatus

#: The receipt's ``version``: the Kantara specification whose fields it carries.
RECEIPT_VERSION = "KI-CR-v1.1.0"


def receipt_token(contact_id: int) -> str:
    """The never-expiring token of a contact's receipt link."""
    return links.target_token("receipt", links.Target(contact_id))


def contact_for_receipt(purpose: str, token: str) -> Contact:
    """The contact a receipt (or preferences) token names; :class:`TokenInvalid` otherwise."""
    return holders.resolve(purpose, token).contact


def _confirmation(contact_id: int, list_id: str) -> ConsentEvent | None:
    return db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == contact_id, ConsentEvent.list_id == list_id,
        ConsentEvent.type.in_((EventType.CONFIRMED, EventType.RESUBSCRIBED)))
        .order_by(ConsentEvent.seq.desc()).limit(1)).first()


def _request_event(contact_id: int, before: ConsentEvent) -> ConsentEvent | None:
    """The signup request the confirmation answered: its consent text and page."""
    return db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == contact_id, ConsentEvent.list_id == before.list_id,
        ConsentEvent.type == EventType.SIGNUP_REQUESTED, ConsentEvent.seq < before.seq)
        .order_by(ConsentEvent.seq.desc()).limit(1)).first()


def _consent_text(text_id: int | None) -> dict[str, Any] | None:
    text = db.session.get(ConsentText, text_id) if text_id else None
    if text is None:
        return None
    return {"id": text.id, "version": text.version, "locale": text.locale, "text": text.text,
            "sha256": hashlib.sha256(text.text.encode()).hexdigest()}


def _privacy_notice(event: ConsentEvent | None, language: str) -> dict[str, Any] | None:
    """The privacy notice version the event records as shown, with where to read it."""
    from portal.notices.models import PrivacyNotice
    from portal.notices.operations import notice_url

    recorded = (event.evidence or {}).get("privacy_notice") if event is not None else None
    notice = db.session.get(PrivacyNotice, recorded["id"]) if isinstance(recorded, dict) else None
    if notice is None:
        return None
    version = notice.content.get(language) or next(iter(notice.content.values()))
    return {"version": notice.version, "owner": "platform" if notice.account_id is None else "controller",
            "effective_at": isoformat(notice.effective_at), "sha256": recorded.get("sha256"),
            "url": version.get("url") or notice_url(notice), "notice_url": notice_url(notice)}


def _service(contact: Contact, subscription: Subscription, language: str = "en") -> dict[str, Any]:
    confirmed = _confirmation(contact.id, subscription.list_id)
    requested = _request_event(contact.id, confirmed) if confirmed else None
    text_id = (confirmed.consent_text_id if confirmed else None) or (requested.consent_text_id if requested else None)
    events = [event for event in (requested, confirmed) if event is not None]
    return {
        "service": subscription.list.name,
        "list_id": subscription.list_id,
        "purposes": [{
            "purpose": f"Email from {subscription.list.name}",
            "purpose_category": ["marketing"],
            "consent_type": "EXPLICIT",
            "pii_category": ["email address"],
            "primary_purpose": True,
            "termination": "until withdrawn",
            "third_party_disclosure": False,
        }],
        "consent_timestamp": isoformat(subscription.confirmed_at),
        "collection_method": "double opt-in",
        "consent_text": _consent_text(text_id),
        "privacy_notice": _privacy_notice(confirmed, language),
        "withdrawal": {"method": "the unsubscribe link in every message, or this link",
                       "url": links.unsubscribe_url(links.Target(contact.id, subscription.list_id))},
        "ledger_events": [{"id": event.id, "type": event.type, "occurred_at": isoformat(event.occurred_at),
                           "hash": event.hash} for event in events],
    }


def receipt(contact: Contact, *, language: str = "en") -> dict[str, Any]:
    """The consent receipt of ``contact``: every list they are subscribed to, with its evidence."""
    account = contact.account
    subscriptions = [s for s in contact.subscriptions if s.status == SubscriptionStatus.CONFIRMED]
    services = [_service(contact, sub, language) for sub in sorted(subscriptions, key=lambda s: s.list_id)]
    # The receipt's own notice: the one shown at the newest consent it holds.
    newest = max(services, key=lambda s: s["consent_timestamp"] or "", default=None)
    base = current_app.config["PORTAL_BASE_URL"]
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": "ID",
        "language": language,
        "consent_receipt_id": hashlib.sha256(
            "|".join([str(contact.id)] + [e["hash"] for s in services for e in s["ledger_events"]]).encode()
        ).hexdigest()[:32],
        "pii_principal_id": contact.email,
        "pii_controllers": [{"name": account.name, "address": account.postal_address,
                             "email": account.contact_email, "role": "controller"}],
        "processors": [{"name": current_app.config["PORTAL_PLATFORM_NAME"], "url": base, "role": "processor"}],
        "privacy_notice": newest["privacy_notice"] if newest else None,
        "services": services,
        "sensitive": False,
        "proof": {"keys_url": f"{base}/.well-known/consent-ledger-keys",
                  "verifier": "python -m portal.consent.verify bundle.json --keys keys.json"},
    }
