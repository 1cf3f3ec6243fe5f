"""The re-permission mail: asks an imported contact to confirm before anything else is sent."""
from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

from portal.accounts.models import Account
from portal.db import utcnow
from portal.links import confirm_url
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.subscriptions.models import MailingList

KIND = "repermission"
#: Stands for the confirmation link while a chunk's mail is rendered once.
_LINK = "https://confirm-link.invalid/00000000"


def repermission_context(account: Account, mailing_list: MailingList, signup_request_id: int) -> dict[str, Any]:
    """What the template set ``templates/email/repermission/`` needs."""
    return {"account": account, "list": mailing_list, "confirm_url": confirm_url(signup_request_id)}


def send_at(start: datetime, index: int, per_minute: int) -> datetime:
    """When the ``index``-th re-permission mail of an import may leave: ``per_minute`` a minute."""
    return start + timedelta(minutes=index // max(per_minute, 1))


def repermission_rows(account: Account, mailing_list: MailingList, recipients: list[tuple[str, int]],
                      *, first_index: int, start: datetime) -> list[dict[str, Any]]:
    """``outbox_messages`` rows for (address, signup request id) pairs, rendered in one go.

    Rendered as :func:`portal.outbox.operations.enqueue_mail` would, but for a whole chunk of
    an import at once, and spread over time so an import never floods anyone's inbox.
    """
    per_minute = current_app.config["PORTAL_IMPORT_MAILS_PER_MINUTE"]
    host = urlsplit(current_app.config["PORTAL_BASE_URL"]).hostname or "localhost"
    locale = account.locale or "en"
    # Only the link differs from one recipient to the next: render once, then put each link in.
    # (A confirmation URL is made of URL-safe characters: the same in text and in HTML.)
    with force_locale(locale):
        context = {"account": account, "list": mailing_list, "confirm_url": _LINK}
        template = {
            "subject": " ".join(render_template(f"email/{KIND}/subject.txt", **context).split()),
            "text": render_template(f"email/{KIND}/body.txt", **context),
            "html": render_template(f"email/{KIND}/body.html", **context),
        }
    now, rows = utcnow(), []
    for offset, (address, request_id) in enumerate(recipients):
        link = confirm_url(request_id)
        payload = {part: value.replace(_LINK, link) for part, value in template.items()}
        payload.update(headers={}, message_id=make_msgid(domain=host), locale=locale)
        rows.append({"channel": "mail", "kind": KIND, "account_id": account.id, "recipient": address,
                     "payload": payload, "status": OutboxStatus.PENDING, "attempts": 0,
                     "next_attempt_at": send_at(start, first_index + offset, per_minute),
                     "created_at": now})
    return rows


def insert_rows(rows: list[dict[str, Any]]) -> None:
    """Store the rendered messages (one bulk insert, in the import's transaction)."""
    from portal.extensions import db

    if rows:
        db.session.execute(OutboxMessage.__table__.insert(), rows)
