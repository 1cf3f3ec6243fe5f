"""Which unsubscribe an undo may give back: its token, its window, what it ended (reads only).

An unsubscribe event keeps in its evidence what an undo may give back (``restorable``: the lists
whose *confirmed* subscription it ended, and the one suppression it added). The undo token is
offered only on the link's page of that event's result, only when there is something to give back, and is
bound to that event; the window (``PORTAL_UNDO_MAX_AGE``) runs from the event, so reopening the
link offers the undo again only while it lasts. It works while nothing else has happened to the
person since (the optional reason aside), so once only. The undo rejoins those lists and lifts
that one suppression: never a list the event did not end, never a suppression it did not add.
Links can be minted by the customer's key, so an unsubscribe the customer made itself can at
most be undone back to where it found the person. The undo itself is
:func:`portal.preferences.operations.undo`.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from portal import links
from portal.consent.models import ConsentEvent, EventType
from portal.db import utcnow
from portal.errors import TokenExpired, TokenInvalid
from portal.extensions import db
from portal.subscriptions.holders import Holder
from portal.preferences.operations import UNSUBSCRIBE_REASON, PreferenceOutcome, restorable

#: Events that may follow an unsubscribe without ending its undo: the reason asked right after it.
_HARMLESS_AFTER = (UNSUBSCRIBE_REASON,)


def undo_token(holder: Holder, outcome: PreferenceOutcome) -> str | None:
    """The short-lived token that undoes this unsubscribe and no other; None when it gave
    nothing an undo could give back (no confirmed list ended). Offered only on its answer page."""
    if outcome.event_id is None or not outcome.restorable:
        return None
    return links.undo_token(holder.contact.id, outcome.event_id)


def undoable_event(holder: Holder, token: str | None) -> ConsentEvent:
    """The unsubscribe event an undo token is bound to, while nothing has happened since.

    :raises TokenExpired: a genuine token whose window is over (its payload kept).
    :raises TokenInvalid: anything else: tampered, another person's, already undone or superseded.
    """
    bound = links.load_undo(token or "")
    event = _bound_event(holder, bound)
    if _later(holder, event):
        raise TokenInvalid()
    if not _in_window(event):  # a token minted when the page was reopened lasts no longer
        raise TokenExpired(payload=bound)
    return event


def _later(holder: Holder, event: ConsentEvent) -> bool:
    """Whether anything but a reason has happened to the person since ``event``."""
    return db.session.scalars(select(ConsentEvent.id).where(
        ConsentEvent.contact_id == holder.contact.id, ConsentEvent.seq > event.seq,
        ConsentEvent.type.not_in(_HARMLESS_AFTER)).limit(1)).first() is not None


def _in_window(event: ConsentEvent) -> bool:
    """Whether the undo window of ``event`` (``PORTAL_UNDO_MAX_AGE`` from the event) still lasts."""
    return utcnow() - event.occurred_at < current_app.config["PORTAL_UNDO_MAX_AGE"]


def offered_event(holder: Holder) -> ConsentEvent | None:
    """The unsubscribe this link's page made that an undo may still give back, or None: the
    person's latest event, made on the page (``link``) in this link's scope, within its window."""
    event = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == holder.contact.id, ConsentEvent.type.not_in(_HARMLESS_AFTER))
        .order_by(ConsentEvent.seq.desc()).limit(1)).first()
    if (event is None or event.type != EventType.UNSUBSCRIBED or event.source != "link"
            or not restorable(event)[0] or not _in_window(event)):
        return None
    in_scope = event.list_id is None or (holder.mailing_list is not None and event.list_id == holder.mailing_list.id)
    return event if in_scope else None


def offered_token(holder: Holder) -> str | None:
    """The undo token of :func:`offered_event`, or None when no undo is offered."""
    event = offered_event(holder)
    return links.undo_token(holder.contact.id, event.id) if event is not None else None


def last_undone(holder: Holder) -> bool:
    """Whether the person's latest event is the undo of an unsubscribe."""
    event = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == holder.contact.id, ConsentEvent.type.not_in(_HARMLESS_AFTER))
        .order_by(ConsentEvent.seq.desc()).limit(1)).first()
    return event is not None and "undo_of" in (event.evidence or {})


def _bound_event(holder: Holder, bound: tuple[int, int] | None) -> ConsentEvent:
    """The event of an undo token's ``(contact id, event id)``, if it is the holder's unsubscribe."""
    if bound is None or bound[0] != holder.contact.id:
        raise TokenInvalid()
    event = db.session.get(ConsentEvent, bound[1])
    if event is None or event.contact_id != holder.contact.id or event.type != EventType.UNSUBSCRIBED:
        raise TokenInvalid()
    return event


def expired_undo_event(holder: Holder, token: str | None) -> ConsentEvent:
    """The event of an undo token whose window is over (to offer a confirmation mail instead):
    the token's own, or the event's (a token minted when the page was reopened)."""
    try:
        event = _bound_event(holder, links.load_undo(token or ""))
    except TokenExpired as error:
        return _bound_event(holder, error.payload)
    if _in_window(event):
        raise TokenInvalid()
    return event


def lists_of(event: ConsentEvent) -> list[str]:
    """The lists an unsubscribe event ended: its own, or those an "everything" event names."""
    if event.list_id is not None:
        return [event.list_id]
    return [str(item) for item in (event.evidence or {}).get("lists", [])]
