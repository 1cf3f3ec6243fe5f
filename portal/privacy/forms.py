"""The privacy pages' forms: one button each, protected by a CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm

from portal.errors import PortalError


class ActionForm(FlaskForm):
    """A form with nothing to fill in but its CSRF token: the button states the action."""


def require_valid(form: FlaskForm) -> None:
    """Refuse a POST whose CSRF token is missing or stale, with a friendly 400 page."""
    if not form.validate_on_submit():
        raise PortalError("The form had expired. Please go back, reload the page and try again.",
                          code="form_expired", status=400)
