"""Operators: creating them, and signing in with a password (Argon2) and a TOTP code (RFC 6238)."""
from __future__ import annotations

import re
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from portal.db import utcnow
from portal.errors import Conflict, Unauthorized, ValidationFailed
from portal.extensions import db
from portal.ops.models import Operator

hasher = PasswordHasher()
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,99}")
MIN_PASSWORD = 12
ISSUER = "Consent Portal compliance"
_dummy: list[str] = []


class SigninFailed(Unauthorized):
    """A wrong user name, password or TOTP code; ``reason`` is logged, never shown."""

    code = "signin_failed"
    message = "The user name, password or code is not right."

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


def create_operator(username: str, password: str) -> tuple[Operator, str]:
    """A new operator and its TOTP secret (base32), to enrol in an authenticator app once."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise ValidationFailed("A user name is 2 to 100 of a-z, 0-9, '.', '_' and '-'.")
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"A password has at least {MIN_PASSWORD} characters.")
    if find(username) is not None:
        raise Conflict(f"The operator {username} exists.")
    secret = pyotp.random_base32()
    operator = Operator(username=username, password_hash=hasher.hash(password), totp_secret=secret)
    db.session.add(operator)
    db.session.flush()
    return operator, secret


def provisioning_uri(operator: Operator) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(operator.totp_secret).provisioning_uri(name=operator.username, issuer_name=ISSUER)


def find(username: str) -> Operator | None:
    """The operator of this user name (case-insensitive)."""
    return db.session.scalars(select(Operator).where(
        func.lower(Operator.username) == username.strip().lower()[:100])).first()


def _check_password(operator: Operator | None, password: str) -> bool:
    """Argon2 verification; an unknown user costs a verification too, so time tells nothing."""
    if not _dummy:
        _dummy.append(hasher.hash("no such operator"))
    try:
        return hasher.verify(operator.password_hash if operator else _dummy[0], password) and operator is not None
    except (VerificationError, InvalidHashError):
        return False


def _totp_step(operator: Operator, code: str, now: float) -> int | None:
    """The time step of ``code`` when it is current (one step of drift allowed) and unused."""
    totp = pyotp.TOTP(operator.totp_secret)
    step = int(now // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if candidate > (operator.totp_last_step or -1) and totp.verify(code, for_time=candidate * totp.interval):
            return candidate
    return None


def authenticate(username: str, password: str, code: str, now: float | None = None) -> Operator:
    """The operator, when password and TOTP code are right; :class:`SigninFailed` otherwise."""
    operator = find(username)
    if not _check_password(operator, password):
        raise SigninFailed("no such operator" if operator is None else "wrong password")
    if operator.disabled_at is not None:
        raise SigninFailed("operator disabled")
    step = _totp_step(operator, code.strip(), time.time() if now is None else now)
    if step is None:
        raise SigninFailed("wrong or reused TOTP code")
    operator.totp_last_step, operator.last_signin_at = step, utcnow()
    if hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = hasher.hash(password)
    db.session.flush()
    return operator
