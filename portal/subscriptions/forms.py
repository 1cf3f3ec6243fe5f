"""The subscriber-facing forms of signup and double opt-in."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField, SubmitField
from wtforms.validators import Length, Optional

from portal.antiforgery import TokenForm
from portal.fields import Address


#: The longest page URL kept as evidence.
MAX_PAGE_URL = 2000


def _bounded(value: str | None) -> str | None:
    """A page URL of at most :data:`MAX_PAGE_URL` characters, else none."""
    return value if value and len(value) <= MAX_PAGE_URL else None


class SignupForm(FlaskForm):
    """``POST /f/<form_id>``: posted from any site (the embed), so without a CSRF token."""

    class Meta:
        csrf = False

    email = EmailField(_l("Email"), validators=[Address()])
    name = StringField(_l("Name (optional)"), validators=[
        Optional(), Length(max=200, message=_l("Name must be %(max)d characters or fewer"))])
    #: The honeypot: hidden from people, filled in by bots. Its name is part of the embed snippet.
    website = StringField(_l("Leave this empty"), validators=[Optional()])
    #: The page the form sits on, when the embedding page fills it in (else the Referer counts).
    #: No person can mend it, so one that is too long is dropped rather than refused.
    page_url = HiddenField(filters=[_bounded])


class ConfirmForm(TokenForm):
    """The one button of the confirmation page, and "No thanks"."""

    confirm = SubmitField(_l("Yes, subscribe me"))
    decline = SubmitField(_l("No thanks"))


class ResendForm(TokenForm):
    """Ask for a new confirmation link when the old one expired."""

    submit = SubmitField(_l("Send me a new link"))
