"""The privacy pages' forms: one button each, with an anti-forgery value bound to the link's token."""
from __future__ import annotations

from flask_babel import gettext

from portal.antiforgery import TokenForm
from portal.errors import FormUnverified


class ActionForm(TokenForm):
    """A form with nothing to fill in but its anti-forgery value: the button states the action."""


def require_valid(form: TokenForm) -> None:
    """Refuse a POST whose anti-forgery value is missing or wrong, with a page that says why."""
    if not form.validate_on_submit():
        raise FormUnverified(gettext("This form could not be checked, so nothing was changed."))
