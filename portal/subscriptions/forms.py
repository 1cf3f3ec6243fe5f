"""The subscriber-facing forms of signup and double opt-in."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from portal.antiforgery import TokenForm


class SignupForm(FlaskForm):
    """``POST /f/<form_id>``: posted from any site (the embed), so without a CSRF token."""

    class Meta:
        csrf = False

    email = EmailField(_l("Email"), validators=[DataRequired(_l("Please enter your email address.")),
                                                Length(max=320)])
    name = StringField(_l("Name (optional)"), validators=[Optional(), Length(max=200)])
    #: The honeypot: hidden from people, filled in by bots. Its name is part of the embed snippet.
    website = StringField(_l("Leave this empty"), validators=[Optional()])
    #: The page the form sits on, when the embedding page fills it in (else the Referer counts).
    page_url = HiddenField(validators=[Optional(), Length(max=2000)])


class ConfirmForm(TokenForm):
    """The one button of the confirmation page, and "No thanks"."""

    confirm = SubmitField(_l("Yes, subscribe me"))
    decline = SubmitField(_l("No thanks"))


class ResendForm(TokenForm):
    """Ask for a new confirmation link when the old one expired."""

    submit = SubmitField(_l("Send me a new link"))
