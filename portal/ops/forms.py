"""The console's forms; each carries Flask-WTF's CSRF token (in the console's own session)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (DecimalField, IntegerField, PasswordField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.accounts.models import AccountStatus
from portal.complaints.models import ReviewDecision


class SigninForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])
    code = StringField(_l("Code from your authenticator app"),
                       validators=[DataRequired(), Regexp(r"^\s*[0-9]{6}\s*$", message=_l("Six digits."))])


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), validators=[DataRequired(message=_l("Choose a decision."))], choices=[
        SelectChoice(ReviewDecision.WARN_AGAIN, _l("Warn again (the account may send; the review closes)")),
        SelectChoice(ReviewDecision.SUSPEND, _l("Suspend (no sending; the review stays open)")),
        SelectChoice(ReviewDecision.REINSTATE, _l("Reinstate (back to active; the review closes)")),
        SelectChoice(ReviewDecision.DEACTIVATE, _l("Deactivate (never sends again; the review closes)"))])
    note = TextAreaField(_l("Note (why: kept with the decision)"),
                         validators=[DataRequired(message=_l("A decision needs a note.")), Length(max=5000)])


class SignoutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST."""


class AccountsFilterForm(FlaskForm):
    """The accounts list's filter, sort and page: read from the query string (a GET changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="", choices=[SelectChoice("", _l("all"))]
                         + [SelectChoice(status, status) for status in AccountStatus.ALL])
    min_rate = DecimalField(_l("Lowest rate (%)"), places=None, validators=[Optional(), NumberRange(0, 100)])
    sort = SelectField(_l("Sort by"), default="rate", choices=[
        SelectChoice("rate", _l("rate (senders with the volume for a rate first)")),
        SelectChoice("complaints", _l("complaints")), SelectChoice("delivered", _l("delivered messages")),
        SelectChoice("name", _l("name")), SelectChoice("newest", _l("newest account"))])
    page = IntegerField(_l("Page"), default=1, validators=[Optional(), NumberRange(min=1)])
