"""The complaint form a subscriber fills in."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from portal.antiforgery import TokenForm
from portal.complaints.models import ComplaintCategory
from portal.complaints.operations import MAX_TEXT


_CHOOSE = _l("Select what is wrong with this message")


class ComplaintForm(TokenForm):
    """Category (required) and free text (optional, up to 2,000 characters)."""

    category = RadioField(_l("What is wrong with this message?"),
                          choices=[SelectChoice(value, label) for value, label in ComplaintCategory.LABELS.items()],
                          validate_choice=False,  # one plain message for none and for an unknown one
                          validators=[InputRequired(_CHOOSE), AnyOf(list(ComplaintCategory.LABELS), _CHOOSE)])
    text = TextAreaField(_l("Anything you want to add (optional)"), validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("What you add must be %(max)d characters or fewer"))])
    submit = SubmitField(_l("Report this message"))
