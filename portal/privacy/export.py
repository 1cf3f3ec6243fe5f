"""Everything held about one contact, as a JSON document they can download."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.complaints.models import Complaint
from portal.consent.operations import events_for_contact, serialize
from portal.consent import proofs
from portal.db import isoformat, utcnow
from portal.extensions import db
from portal.subscriptions.models import ConsentText, Contact, MailingList, SignupRequest, Subscription
from portal.suppression.operations import entries_for


def export_contact(contact: Contact) -> dict[str, Any]:
    """The contact, subscriptions, signups, ledger (with consent texts), complaints, suppressions."""
    account = contact.account
    return {
        "exported_at": isoformat(utcnow()),
        "controller": {"name": account.name, "postal_address": account.postal_address},
        "contact": {"id": contact.id, "email": contact.email, "name": contact.name,
                    "created_at": isoformat(contact.created_at), "erased_at": isoformat(contact.erased_at)},
        "subscriptions": [_subscription(sub, name) for sub, name in _subscriptions(contact.id)],
        "signup_requests": [_signup(request) for request in _rows(SignupRequest, contact.id)],
        "consent_events": [_event(event) for event in events_for_contact(contact.id)],
        "complaints": [_complaint(complaint) for complaint in _rows(Complaint, contact.id)],
        "suppressions": [_suppression(entry) for entry in
                         (entries_for(contact.email, contact.account_id) if contact.email else [])],
        # Checkable offline: python -m portal.consent.verify with /.well-known/consent-ledger-keys.
        "ledger_proof": proofs.bundle(contact),
    }


def _rows(model, contact_id: int) -> list:
    return list(db.session.scalars(select(model).where(model.contact_id == contact_id).order_by(model.id)))


def _subscriptions(contact_id: int) -> list:
    return list(db.session.execute(
        select(Subscription, MailingList.name).join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.contact_id == contact_id).order_by(Subscription.id)))


def _subscription(sub: Subscription, list_name: str) -> dict[str, Any]:
    return {"list_id": sub.list_id, "list_name": list_name, "status": sub.status,
            "requested_at": isoformat(sub.requested_at), "confirmed_at": isoformat(sub.confirmed_at),
            "unsubscribed_at": isoformat(sub.unsubscribed_at),
            "last_contacted_at": isoformat(sub.last_contacted_at)}


def _signup(request: SignupRequest) -> dict[str, Any]:
    return {"id": request.id, "form_id": request.form_id, "list_ids": request.list_ids,
            "source": request.source, "created_at": isoformat(request.created_at),
            "confirmed_at": isoformat(request.confirmed_at), "declined_at": isoformat(request.declined_at),
            "evidence": request.evidence}


def _event(event) -> dict[str, Any]:
    out = serialize(event)
    out["email"] = event.email
    text = db.session.get(ConsentText, event.consent_text_id) if event.consent_text_id else None
    out["consent_text"] = ({"id": text.id, "form_id": text.form_id, "version": text.version,
                            "locale": text.locale, "text": text.text}
                           if text else None)
    return out


def _complaint(complaint: Complaint) -> dict[str, Any]:
    return {"id": complaint.id, "category": complaint.category, "text": complaint.text,
            "list_id": complaint.list_id, "message_ref": complaint.message_ref, "source": complaint.source,
            "created_at": isoformat(complaint.created_at)}


def _suppression(entry) -> dict[str, Any]:
    return {"scope": entry.scope, "list_id": entry.list_id, "reason": entry.reason,
            "created_at": isoformat(entry.created_at)}
