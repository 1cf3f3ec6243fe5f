"""The complaint form a subscriber fills in."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.antiforgery import TokenForm
from portal.complaints.models import ComplaintCategory
from portal.complaints.operations import MAX_TEXT


class ComplaintForm(TokenForm):
    """Category (required) and free text (optional, up to 2,000 characters)."""

    category = RadioField(_l("What is wrong with this message?"),
                          choices=[SelectChoice(value, label) for value, label in ComplaintCategory.LABELS.items()],
                          validators=[InputRequired(_l("Please choose what is wrong."))])
    text = TextAreaField(_l("Anything you want to add (optional)"),
                         validators=[Optional(), Length(max=MAX_TEXT)])
    submit = SubmitField(_l("Report this message"))
