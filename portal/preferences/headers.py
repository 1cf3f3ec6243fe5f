"""The List-Unsubscribe headers the sending platform puts in each message (their values).

Every recipient's links in bulk, which creates the contacts they need, is
:func:`portal.preferences.operations.recipient_links`.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from portal import links

ONE_CLICK = "List-Unsubscribe=One-Click"
#: Local part prefix of the ``mailto:`` unsubscribe address: ``unsubscribe+<token>@<domain>``.
MAILTO_PREFIX = "unsubscribe+"


@dataclass(frozen=True)
class Recipient:
    """One recipient of one message: the address as sent and the platform's message id."""

    email: str
    message_id: str | None = None


def list_unsubscribe(target: links.Target, https_url: str) -> dict[str, str]:
    """The two header values (RFC 2369 syntax, RFC 8058 one-click): HTTPS first, then mailto.

    The mailto address carries the compact token of :func:`portal.links.mail_token`: a local
    part of at most 64 characters, of one case.
    """
    value = f"<{https_url}>"
    domain = current_app.config.get("PORTAL_UNSUBSCRIBE_MAIL_DOMAIN")
    if domain:
        value += f", <mailto:{MAILTO_PREFIX}{links.mail_token(target)}@{domain}>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": ONE_CLICK}
