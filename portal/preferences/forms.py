"""The forms of the unsubscribe page and the preference centre: Flask-WTF forms whose
anti-forgery value is bound to the link's token (:mod:`portal.antiforgery`), not to a cookie."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, RadioField, SelectChoice, SelectMultipleField, SubmitField, widgets

from portal.antiforgery import TokenForm
from portal.fields import Address

from portal.preferences.operations import ACCOUNT, LIST


class UnsubscribeForm(TokenForm):
    """The person's choice on the unsubscribe page: this list, or everything from this sender."""

    scope = RadioField(_l("Unsubscribe from"), choices=[SelectChoice(LIST, _l("This list only")),
                                                        SelectChoice(ACCOUNT, _l("Everything from this sender"))],
                       default=LIST)
    submit = SubmitField(_l("Unsubscribe"))


class ReasonForm(TokenForm):
    """An optional reason, asked only after the unsubscribe is done."""

    reason = RadioField(_l("Why did you unsubscribe? (optional)"), choices=[
        SelectChoice("too_frequent", _l("Too many emails")),
        SelectChoice("not_relevant", _l("The emails are not relevant to me")),
        SelectChoice("never_signed_up", _l("I never signed up")),
        SelectChoice("other", _l("Another reason")),
    ])
    submit = SubmitField(_l("Send"))


class UndoForm(TokenForm):
    """Undo an unsubscribe made by mistake: only on its own answer page, with its undo token."""

    #: The short-lived token bound to the unsubscribe event (see :func:`portal.preferences.undo.offered_token`).
    undo = HiddenField()
    submit = SubmitField(_l("Undo: keep me subscribed"))


class RejoinForm(TokenForm):
    """Once the undo window is over: ask for a confirmation mail to rejoin what was left."""

    undo = HiddenField()
    submit = SubmitField(_l("Email me a confirmation link"))


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for one field."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PreferencesForm(TokenForm):
    """The lists the person wants, or everything off."""

    lists = MultiCheckboxField(_l("Your lists"), choices=[], validate_choice=False)
    save = SubmitField(_l("Save my choices"))
    unsubscribe_all = SubmitField(_l("Unsubscribe from everything"))


class ManageLinkForm(TokenForm):
    """An address to mail its preference links to; the anti-forgery value is bound to the form's
    signed ``sender`` value (:func:`portal.preferences.recovery.form_token`), not to a cookie."""

    email = EmailField(_l("Your email address"), validators=[Address()])
    sender = HiddenField()
    submit = SubmitField(_l("Send me a link"))


def manage_form(account) -> ManageLinkForm:
    """A fresh "send me a link" form naming ``account`` (verified) as the sender, or none."""
    from portal.preferences.recovery import form_token

    value = form_token(account)
    return ManageLinkForm(value, "manage", formdata=None, sender=value)
