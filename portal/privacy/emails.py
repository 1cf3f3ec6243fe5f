"""The context of the privacy domain's mail (template set ``templates/email/erase_confirm/``)."""
from __future__ import annotations

from typing import Any

from flask import current_app


def erase_confirm_context(contact, url: str) -> dict[str, Any]:
    """What the erasure confirmation mail shows: the sender, the link and how long it lasts."""
    max_age = current_app.config["PORTAL_CONFIRM_MAX_AGE"]
    return {"account": contact.account, "erase_url": url, "valid_days": max(1, max_age.days)}
