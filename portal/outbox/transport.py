"""Transports: where a rendered mail goes. SMTP through Flask-Mail, or ``.eml`` files.

Both share one small method set: use as a context manager (opens and closes the connection)
and call ``send(sender, recipient, data)`` with the message's bytes.
"""
from __future__ import annotations

import os
import re
import smtplib
from email import message_from_bytes, policy
from typing import Protocol

from flask import current_app
from flask_mail import Message, sanitize_address

from portal.extensions import mail
from portal.outbox import dkim
from portal.outbox.models import OutboxMessage

_LINK = re.compile(r"https?://[^\s<>\"']+")


class Transport(Protocol):
    """What the worker needs of a transport."""

    def __enter__(self) -> "Transport": ...

    def __exit__(self, *exc) -> None: ...

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Deliver one message; raise on failure (the worker retries)."""


class SMTPTransport:
    """Delivery to ``MAIL_SERVER`` through a Flask-Mail connection."""

    def __enter__(self) -> "SMTPTransport":
        # Flask-Mail's connection settings (TLS, SSL, login); MAIL_SERVER being set is the
        # decision to send, so TESTING's MAIL_SUPPRESS_SEND does not apply to the worker.
        self._host = mail.connect().configure_host()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._host.quit()
        except (OSError, smtplib.SMTPException):
            pass  # the server went away; what was sent is sent

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Send ``data`` to ``recipient`` over the open SMTP connection."""
        self._host.sendmail(sanitize_address(sender), [sanitize_address(recipient)], data)


class FileTransport:
    """Development delivery: one ``.eml`` file per message, and its links in the log."""

    def __init__(self, directory: str):
        self.directory = directory

    def __enter__(self) -> "FileTransport":
        os.makedirs(self.directory, exist_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        return None

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Write the message under the outbox directory and log where it is and its links."""
        parsed = message_from_bytes(data, policy=policy.default)
        name = re.sub(r"[^A-Za-z0-9.@_-]", "", str(parsed["Message-ID"] or "message")) or "message"
        path = os.path.join(self.directory, f"{name}.eml")
        with open(path, "wb") as eml:
            eml.write(data)
        text = parsed.get_body(("plain",))
        links = sorted(set(_LINK.findall(text.get_content()))) if text is not None else []
        current_app.logger.info("mail to %s written to %s; links: %s", recipient, path, " ".join(links))


def outbox_dir() -> str:
    """``PORTAL_OUTBOX_DIR``, by default ``<instance>/outbox``."""
    return current_app.config.get("PORTAL_OUTBOX_DIR") or os.path.join(current_app.instance_path, "outbox")


def transport() -> Transport:
    """SMTP when ``MAIL_SERVER`` is set, ``.eml`` files otherwise."""
    if current_app.config.get("MAIL_SERVER"):
        return SMTPTransport()
    return FileTransport(outbox_dir())


def render_bytes(message: OutboxMessage) -> tuple[str, bytes]:
    """The sender and the MIME bytes (text and HTML parts, DKIM-signed when configured)."""
    payload = message.payload
    mime = Message(subject=payload["subject"], recipients=[message.recipient], body=payload["text"],
                   html=payload.get("html"), extra_headers=dict(payload.get("headers") or {}))
    mime.msgId = payload["message_id"]
    return mime.sender, dkim.sign(mime.as_bytes())
