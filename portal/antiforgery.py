"""The anti-forgery value of the token pages' forms: bound to the link's token and the form's
purpose, never to a session, so every form works in a browser that sends no cookie.

The URL token is the credential of a token page. The hidden value is an HMAC of the token and
the purpose under the current ``SECRET_KEY`` (values made with ``SECRET_KEY_FALLBACKS`` are still
accepted): a value is only to be had from the page itself, and one form's value does not pass
for another's.
"""
from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import ValidationError
from wtforms.csrf.core import CSRF


def _keys() -> list[str]:
    config = current_app.config
    return [config["SECRET_KEY"], *reversed(config.get("SECRET_KEY_FALLBACKS") or [])]


def _mac(key: str, purpose: str, token: str) -> str:
    message = f"portal.form\0{purpose}\0{token}".encode("utf-8", "surrogatepass")
    return urlsafe_b64encode(hmac.digest(key.encode("utf-8"), message, hashlib.sha256)).rstrip(b"=").decode()


def form_value(purpose: str, token: str) -> str:
    """The value a form of ``purpose`` on the page of ``token`` carries (newest key)."""
    return _mac(_keys()[0], purpose, token)


def is_valid(purpose: str, token: str, value: str | None) -> bool:
    """Whether ``value`` is the value of ``purpose`` and ``token`` under any accepted key."""
    if not isinstance(value, str) or not value:
        return False
    return any(hmac.compare_digest(value, _mac(key, purpose, token)) for key in _keys())


class TokenBoundCSRF(CSRF):
    """WTForms CSRF whose value is :func:`form_value` of the form's ``(purpose, token)`` context."""

    def setup_form(self, form):
        self.purpose, self.token = form.meta.csrf_context
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field) -> str:
        return form_value(self.purpose, self.token)

    def validate_csrf_token(self, form, field) -> None:
        if not is_valid(self.purpose, self.token, field.data):
            raise ValidationError(_l("This form could not be checked."))


class TokenForm(FlaskForm):
    """A Flask-WTF form of a token page: parsed as usual, protected by :class:`TokenBoundCSRF`.

    :param token: the link's token (the page's credential).
    :param purpose: what the form does (``confirm``, ``unsubscribe``, ``undo``...).
    """

    class Meta:
        csrf_class = TokenBoundCSRF

    def __init__(self, token: str, purpose: str, *args, **kwargs):
        super().__init__(*args, meta={"csrf_context": (purpose, token)}, **kwargs)

    @property
    def forged(self) -> bool:
        """Whether the form was refused for its anti-forgery value (not for what was chosen)."""
        return bool(getattr(self, "csrf_token", None) is not None and self.csrf_token.errors)
