"""Saving the preference centre: leave the unticked lists at once, ask to join the ticked ones.

What the page shows (each list and the holder's state on it) is read by :mod:`portal.preferences.centre`.
"""
from __future__ import annotations

from portal.consent.evidence import RequestEvidence
from portal.preferences.centre import states
from portal.preferences.operations.rejoin import request_rejoin
from portal.preferences.operations.unsubscribe import PreferenceOutcome, unsubscribe_list
from portal.subscriptions.holders import Holder
from portal.subscriptions.operations import lock_contact


def save(holder: Holder, wanted: set[str], context: RequestEvidence, *, locale: str) -> PreferenceOutcome:
    """Make the holder's lists match ``wanted``: leave the unticked at once; for the ticked ones
    they may join, mail a confirmation link (``outcome.asked``; ``outcome.held`` when today's
    confirmation mails to the address are used up)."""
    lock_contact(holder.contact)
    current = states(holder)
    outcome = PreferenceOutcome("lists")
    for item in current:
        if item.on and item.mailing_list.id not in wanted:
            result = unsubscribe_list(holder, item.mailing_list.id, context)
            outcome.lists += result.lists
            outcome.changed = outcome.changed or result.changed
    ticked = [s.mailing_list.id for s in current if s.mailing_list.id in wanted and not s.on and s.can_join]
    if ticked and request_rejoin(holder, ticked, context, source="preferences", locale=locale):
        outcome.asked = ticked
    else:
        outcome.held = ticked  # over the daily cap of confirmation mails: nothing sent, nothing changed
    return outcome
