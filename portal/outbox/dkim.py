"""DKIM signing of the portal's own mail (SPEC section 7), when DKIM_* is configured."""
from __future__ import annotations

from email.parser import BytesHeaderParser

import dkim
from flask import current_app

#: Headers the signature covers when present; List-Unsubscribe(-Post) must be covered (A-HDR-8).
SIGNED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                  "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id")


def configured() -> bool:
    """Whether DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH are all set."""
    config = current_app.config
    return all(config.get(key) for key in ("DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_PRIVATE_KEY_PATH"))


def sign(data: bytes) -> bytes:
    """``data`` with a DKIM-Signature header prepended (unchanged when DKIM is not configured)."""
    if not configured():
        return data
    config = current_app.config
    with open(config["DKIM_PRIVATE_KEY_PATH"], "rb") as key_file:
        private_key = key_file.read()
    present = {name.lower() for name in BytesHeaderParser().parsebytes(data).keys()}
    headers = [name.encode() for name in SIGNED_HEADERS if name.lower() in present]
    signature = dkim.sign(data, config["DKIM_SELECTOR"].encode(), config["DKIM_DOMAIN"].encode(),
                          private_key, include_headers=headers,
                          canonicalize=(b"relaxed", b"relaxed"))
    return signature + data
