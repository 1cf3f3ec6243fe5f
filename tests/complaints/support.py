"""Helpers of the complaint tests: the ARF fixtures, rewritten for a contact; outbox delivery.

NOTE: the outbox worker (``flask outbox work``) is built on another branch. Until it is merged
here, :func:`deliver_outbox` stands in for it: it sends each pending outbox mail, as stored,
to a real SMTP server with smtplib, so the tests see the mail a recipient would get.
"""
from __future__ import annotations

import email
import smtplib
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.policy import compat32
from pathlib import Path

from sqlalchemy import select

from portal import links
from portal.extensions import db
from portal.outbox.models import OutboxMessage, OutboxStatus

#: Real reports, copied byte for byte from shared/fixtures/arf (SOURCES.txt there says where from).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "arf"


def fixture(prefix: str) -> bytes:
    """The bytes of the fixture whose name starts with ``prefix`` (``01``...``08``)."""
    (path,) = FIXTURES.glob(f"{prefix}_*.eml")
    return path.read_bytes()


def _set(message: Message, name: str, value: str) -> None:
    if name in message:
        message.replace_header(name, value)
    else:
        message[name] = value


def rewrite(prefix: str, *, to: str | None = None, rcpt_to: str | None = None, hint: str | None = None,
            list_unsubscribe: str | None = None) -> bytes:
    """A fixture with its original's recipient / List-Unsubscribe (and Original-Rcpt-To) replaced."""
    report = email.message_from_bytes(fixture(prefix), policy=compat32)
    parts = report.get_payload() if report.is_multipart() else [report]
    for part in parts:
        kind = part.get_content_type()
        if kind == "message/feedback-report" and rcpt_to is not None:
            _set(part.get_payload()[0], "Original-Rcpt-To", rcpt_to)
        elif kind == "message/rfc822":
            _edit_original(part.get_payload()[0], to, hint, list_unsubscribe)
        elif kind == "text/rfc822-headers":
            headers = HeaderParser(policy=compat32).parsestr(part.get_payload())
            _edit_original(headers, to, hint, list_unsubscribe)
            part.set_payload(headers.as_string())
        elif part is report and to is not None:
            _set(report, "To", to)
    return report.as_bytes()


def _edit_original(original: Message, to, hint, list_unsubscribe) -> None:
    for name, value in (("To", to), ("X-HmXmrOriginalRecipient", hint), ("List-Unsubscribe", list_unsubscribe)):
        if value is not None:
            _set(original, name, value)


def list_unsubscribe_for(contact, mailing_list=None, message_ref: str | None = None) -> str:
    """The List-Unsubscribe header the platform put in a message to ``contact``."""
    target = links.Target(contact.id, mailing_list.id if mailing_list else None, message_ref)
    return f"<{links.unsubscribe_url(target)}>"


def mailto_unsubscribe_for(contact, mailing_list=None, legacy: bool = False) -> str:
    """A List-Unsubscribe header carrying only the ``mailto:unsubscribe+TOKEN@`` form (``legacy``:
    with the ``unsubscribe`` token mailto addresses carried before compact tokens)."""
    target = links.Target(contact.id, mailing_list.id if mailing_list else None)
    token = links.target_token("unsubscribe", target) if legacy else links.mail_token(target)
    return f"<mailto:unsubscribe+{token}@unsub.portal.test?subject=unsubscribe>"


def deliver_outbox(port: int) -> list[OutboxMessage]:
    """Send every pending outbox mail to the SMTP server on ``port``; mark them sent."""
    rows = list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.channel == "mail").order_by(OutboxMessage.id)))
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for row in rows:
            smtp.send_message(_as_mail(row))
            row.status = OutboxStatus.SENT
    db.session.commit()
    return rows


def _as_mail(row: OutboxMessage) -> EmailMessage:
    payload = row.payload
    mail = EmailMessage()
    mail["From"] = "Consent Portal <no-reply@portal.test>"
    mail["To"] = row.recipient
    mail["Subject"] = payload["subject"]
    mail["Message-ID"] = payload["message_id"]
    for name, value in (payload.get("headers") or {}).items():
        mail[name] = value
    mail.set_content(payload["text"])
    mail.add_alternative(payload["html"], subtype="html")
    return mail


def bodies(message) -> tuple[str, str]:
    """The text and HTML parts of a received mail."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def review_args(account_id: str, *options: str) -> list[str]:
    """``flask accounts review`` arguments; ``--`` first, as ids may begin with ``-``."""
    return ["accounts", "review", *options, "--", account_id]
