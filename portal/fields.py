"""Field checks of the subscriber forms, in words a person understands (GOV.UK style), translated."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation

from portal.addresses import DOMAIN, EMPTY, FORMAT, MAX_SENDABLE, TOO_LONG, problem

#: What a page says for each way an address can be wrong; never the validator library's text.
ADDRESS_MESSAGES = {
    EMPTY: _l("Enter your email address"),
    FORMAT: _l("Enter an email address in the correct format, like name@example.com"),
    TOO_LONG: _l("Email address must be %(max)d characters or fewer", max=MAX_SENDABLE),
    DOMAIN: _l("Enter an email address with a domain that can receive email, like name@example.com"),
}


def address_message(address: str | None) -> str:
    """The plain message for an address that was refused (the format one when it looks valid)."""
    return str(ADDRESS_MESSAGES[problem(address) or FORMAT])


class Address:
    """The one check of an address field: its plain message, the first that applies, and no other."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        reason = problem(field.data)
        if reason is not None:
            raise StopValidation(str(ADDRESS_MESSAGES[reason]))
