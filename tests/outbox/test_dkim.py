"""DKIM signing of the portal's mail: verifiable, and covering List-Unsubscribe (A-HDR-8)."""
from __future__ import annotations

import base64
import subprocess

import dkim
import pytest

from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox.operations import enqueue_mail
from portal.outbox.transport import render_bytes

CONTEXT = {"lists": [], "form_name": None, "page_host": None, "confirm_url": "https://portal.test/confirm/x",
           "max_age_days": 7}


@pytest.fixture
def dkim_key(tmp_path):
    """A fresh RSA key: (private key path, the DNS TXT record of its public key)."""
    private = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    public_der = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
                                check=True, capture_output=True).stdout
    return str(private), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)


def _message(create_account, headers=None) -> OutboxMessage:
    account = create_account()
    message = enqueue_mail("confirmation", to="ann@example.org", context={"account": account, **CONTEXT},
                           account_id=account.id, headers=headers)
    db.session.commit()
    return message


def test_signed_mail_verifies_and_covers_list_unsubscribe(app, create_account, dkim_key):
    path, record = dkim_key
    app.config.update(DKIM_DOMAIN="portal.test", DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=path)
    message = _message(create_account, headers={
        "List-Unsubscribe": "<https://portal.test/unsubscribe/t>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    _sender, data = render_bytes(message)
    assert data.startswith(b"DKIM-Signature:")
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: record if name == b"s1._domainkey.portal.test." else None)
    signature = data.split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "").lower()
    signed = signature.split("h=", 1)[1].split(";", 1)[0].replace(" ", "").replace("\t", "").split(":")
    assert "list-unsubscribe" in signed and "list-unsubscribe-post" in signed and "from" in signed
    tampered = data.replace(b"<https://portal.test/unsubscribe/t>", b"<https://evil.test/unsubscribe/t>")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: record)


def test_unsigned_without_dkim_config(app, create_account):
    _sender, data = render_bytes(_message(create_account))
    assert b"DKIM-Signature" not in data


def test_a_folded_encoded_from_and_the_reply_to_are_signed_and_verify(app, create_account, dkim_key):
    from portal.outbox import identity

    path, record = dkim_key
    app.config.update(DKIM_DOMAIN="portal.test", DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=path,
                      PORTAL_MAIL_FROM_DOMAIN="portal.test")
    account = create_account(display_name="Kedai Kopi Énak ☕ dari Bandung, Jawa Barat")
    message = enqueue_mail("confirmation", to="ann@example.org", context={"account": account, **CONTEXT},
                           account_id=account.id, sender=identity.for_account(account))
    db.session.commit()
    _sender, data = render_bytes(message)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nFrom: =?utf-8?" in head and b"\r\nReply-To: " + account.contact_email.encode() in head
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: record if name == b"s1._domainkey.portal.test." else None)
    signed = head.decode().replace("\r\n", "").lower().split("h=", 1)[1].split(";", 1)[0].replace(" ", "").split(":")
    assert "from" in signed and "reply-to" in signed
