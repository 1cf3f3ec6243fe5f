"""The operator operations called directly: creating an operator, and signing in with password and TOTP code."""
import pyotp
import pytest
from sqlalchemy import select

from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.ops import operations
from portal.ops.models import Operator

PASSWORD = "correct horse battery staple"


def code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


def test_create_operator_stores_a_hash_and_the_secret_for_the_authenticator(app):
    operator, secret = operations.create_operator("  Ana  ", PASSWORD)

    stored = db.session.get(Operator, operator.id)
    assert stored.username == "ana" and stored.totp_secret == secret
    assert PASSWORD not in stored.password_hash and stored.password_hash.startswith("$argon2")
    assert (stored.totp_last_step, stored.last_signin_at, stored.disabled_at) == (None, None, None)
    db.session.rollback()
    assert db.session.scalars(select(Operator)).all() == []  # flushed only: the caller commits


@pytest.mark.parametrize("username, password, error, code_", [
    ("a", PASSWORD, ValidationFailed, "validation_failed"),               # too short a name
    ("ana smith", PASSWORD, ValidationFailed, "validation_failed"),       # a space
    ("ana", "too short", ValidationFailed, "validation_failed"),          # under twelve characters
    ("ANA", PASSWORD, Conflict, "conflict"),                              # taken, in any case
])
def test_create_operator_refuses_a_bad_name_a_short_password_or_a_taken_name(app, username, password, error, code_):
    operations.create_operator("ana", PASSWORD)
    with pytest.raises(error) as caught:
        operations.create_operator(username, password)
    assert caught.value.code == code_
    assert db.session.scalars(select(Operator.username)).all() == ["ana"]


def test_authenticate_spends_the_codes_time_step_and_notes_the_sign_in(app):
    operator, secret = operations.create_operator("ana", PASSWORD)
    now = 1_800_000_000.0

    signed_in = operations.authenticate("ANA", PASSWORD, code(secret, now), now=now)

    assert signed_in.id == operator.id and signed_in.last_signin_at is not None
    assert signed_in.totp_last_step == int(now // 30)
    with pytest.raises(operations.SigninFailed) as caught:  # the same code again: reused
        operations.authenticate("ana", PASSWORD, code(secret, now), now=now)
    assert caught.value.code == "signin_failed" and caught.value.reason == "wrong or reused TOTP code"


@pytest.mark.parametrize("username, password, right_code, reason", [
    ("bob", PASSWORD, True, "no such operator"),
    ("ana", "not the password at all", True, "wrong password"),
    ("ana", PASSWORD, False, "wrong or reused TOTP code"),
])
def test_authenticate_refuses_one_answer_and_changes_nothing(app, username, password, right_code, reason):
    operator, secret = operations.create_operator("ana", PASSWORD)
    now = 1_800_000_000.0
    near = {code(secret, now + drift) for drift in (-30, 0, 30)}  # the codes one step of drift accepts
    wrong = next(candidate for candidate in ("000000", "111111", "222222", "333333") if candidate not in near)
    with pytest.raises(operations.SigninFailed) as caught:
        operations.authenticate(username, password, code(secret, now) if right_code else wrong, now=now)
    assert caught.value.code == "signin_failed" and caught.value.reason == reason
    assert (operator.totp_last_step, operator.last_signin_at) == (None, None)


def test_a_disabled_operator_cannot_sign_in(app):
    operator, secret = operations.create_operator("ana", PASSWORD)
    operator.disabled_at = operator.created_at
    now = 1_800_000_000.0
    with pytest.raises(operations.SigninFailed) as caught:
        operations.authenticate("ana", PASSWORD, code(secret, now), now=now)
    assert caught.value.code == "signin_failed" and caught.value.reason == "operator disabled"
    assert operator.totp_last_step is None
