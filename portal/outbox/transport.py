"""Transports: where a rendered mail goes. SMTP (Flask-Mail's settings), or ``.eml`` files.

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

from portal.outbox import dkim, identity
from portal.outbox.models import OutboxMessage

_LINK = re.compile(r"https?://[^\s<>\"']+")


class Transport(Protocol):
    """What the worker needs of a transport."""

    def __enter__(self) -> "Transport": ...

    def __exit__(self, *exc) -> None: ...

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Deliver one message; raise on failure (the worker retries)."""


class TransportDown(Exception):
    """The mail server could not be reached or dropped the connection: retry later."""


#: The server's answer about one message (refused recipient, sender or data): the connection
#: is still good. Every other OSError (smtplib's exceptions are OSErrors) means it is not.
MESSAGE_ERRORS = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)


def connect_smtp() -> smtplib.SMTP:
    """An SMTP connection to ``MAIL_SERVER`` with Flask-Mail's settings and a socket timeout.

    Flask-Mail opens its connections without a timeout, so a server that accepts the TCP
    connection and then says nothing would hang the worker forever; ``MAIL_TIMEOUT`` (seconds)
    bounds the connect and every read and write after it.
    """
    config = current_app.config
    factory = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    host = factory(config["MAIL_SERVER"], config.get("MAIL_PORT") or 25, timeout=config["MAIL_TIMEOUT"])
    try:
        if config.get("MAIL_USE_TLS"):
            host.starttls()
        if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
            host.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        host.close()
        raise
    return host


class SMTPTransport:
    """Delivery to ``MAIL_SERVER`` over one SMTP connection with a timeout."""

    def __enter__(self) -> "SMTPTransport":
        # MAIL_SERVER being set is the decision to send, so TESTING's MAIL_SUPPRESS_SEND does
        # not apply to the worker.
        try:
            self._host = connect_smtp()
            self._broken = False
        except OSError as error:
            raise TransportDown(f"{type(error).__name__}: {error}") from error
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._broken:
                self._host.close()  # no QUIT on a dead or stalled connection: it would wait again
            else:
                self._host.quit()
        except OSError:
            pass  # the server went away; what was sent is sent

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Send ``data`` to ``recipient`` over the open SMTP connection.

        :raises TransportDown: the connection broke or stalled (the message may or may not have
            been accepted: the worker retries it later with the same Message-ID).
        """
        try:
            self._host.sendmail(sanitize_address(sender), [sanitize_address(recipient)], data)
        except MESSAGE_ERRORS:
            raise
        except OSError as error:  # a dropped or stalled connection (socket timeout)
            self._broken = True
            raise TransportDown(f"{type(error).__name__}: {error}") from error


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
        path = os.path.join(self.directory, eml_name(str(parsed["Message-ID"] or "")))
        with open(path, "wb") as eml:
            eml.write(data)
        text = parsed.get_body(("plain",))
        links = sorted(set(_LINK.findall(text.get_content()))) if text is not None else []
        current_app.logger.info("mail to %s written to %s; links: %s", recipient, path, " ".join(links))


def eml_name(message_id: str) -> str:
    """The file name :class:`FileTransport` gives a message: its Message-ID, safe characters only."""
    return (re.sub(r"[^A-Za-z0-9.@_-]", "", message_id or "message") or "message") + ".eml"


def outbox_dir() -> str:
    """``PORTAL_OUTBOX_DIR``, by default ``<instance>/outbox``."""
    return current_app.config.get("PORTAL_OUTBOX_DIR") or os.path.join(current_app.instance_path, "outbox")


def transport() -> Transport:
    """SMTP when ``MAIL_SERVER`` is set, ``.eml`` files otherwise."""
    if current_app.config.get("MAIL_SERVER"):
        return SMTPTransport()
    return FileTransport(outbox_dir())


def render_bytes(message: OutboxMessage) -> tuple[str, bytes]:
    """The envelope sender and the MIME bytes (text and HTML parts, DKIM-signed when configured).

    From, Reply-To and the envelope sender come from the row's ``sender`` (see
    :mod:`portal.outbox.identity`; rows stored before it was kept go from the platform).
    """
    from portal.outbox.operations import render_message

    payload = render_message(message)
    sender = payload.get("sender") or identity.platform()
    extra = {name: value for name, value in (payload.get("headers") or {}).items()
             if name.lower() not in ("from", "reply-to", "sender")}
    mime = _Message(subject=payload["subject"], recipients=[message.recipient], body=payload["text"],
                    html=payload.get("html"), extra_headers=extra, sender=sender["address"])
    mime.msgId = payload["message_id"]
    mime.identity = sender
    return sender["address"], dkim.sign(mime.as_bytes())


class _Message(Message):
    """Flask-Mail's message with From and Reply-To written by :func:`identity.from_header`
    (Flask-Mail encodes every display name, ASCII ones too)."""

    identity: dict

    def _message(self):
        msg = super()._message()
        smtp, msg.policy = msg.policy, policy.compat32  # stores the folded value as it is given
        msg.replace_header("From", identity.from_header(self.identity.get("name"), self.identity["address"]))
        reply_to = identity.single_address(self.identity.get("reply_to"))
        if reply_to:
            msg["Reply-To"] = reply_to
        msg.policy = smtp
        return msg
