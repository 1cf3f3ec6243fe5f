"""Unsubscribing the holder of a token found among the recipients of a mail (``mailto:``
List-Unsubscribe); the mail is read by :mod:`portal.preferences.inbound`.
"""
from __future__ import annotations

from portal.consent.evidence import RequestEvidence
from portal.errors import TokenInvalid
from portal.preferences.inbound import InboundResult, candidate_tokens, message_id, parse
from portal.preferences.operations.unsubscribe import LIST, unsubscribe
from portal.subscriptions.holders import resolve


def unsubscribe_by_mail(raw: bytes, envelope_recipient: str | None = None) -> InboundResult:
    """Unsubscribe the holder of the first valid token among the recipients of ``raw``."""
    message = parse(raw)
    for token in candidate_tokens(message, envelope_recipient):
        try:
            holder = resolve("mailto", token)
        except TokenInvalid:
            continue
        context = RequestEvidence("mailto", message_ref=holder.message_ref,
                          inbound_message_id=message_id(message))
        outcome = unsubscribe(holder, LIST, context)
        return InboundResult(True, "unsubscribed" if outcome.changed else "already_unsubscribed",
                             holder.account.id, outcome.lists[0] if outcome.lists else
                             (holder.mailing_list.id if holder.mailing_list else None))
    return InboundResult(False)
