"""``flask operators create``."""
import pyotp
from sqlalchemy import select

from portal.ops.models import Operator
from portal.ops.operations import authenticate


def test_create_prints_the_totp_secret_once(runner, db):
    result = runner.invoke(args=["operators", "create", "Ana"], input="a long password 1\na long password 1\n")
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-2]
    assert "otpauth://totp/" in result.output
    operator = db.session.scalars(select(Operator)).one()
    assert operator.username == "ana" and operator.totp_secret == secret
    assert authenticate("ana", "a long password 1", pyotp.TOTP(secret).now()).id == operator.id


def test_create_refuses_a_short_password_and_a_taken_name(runner, db):
    result = runner.invoke(args=["operators", "create", "ana", "--password", "short"])
    assert result.exit_code != 0 and "at least 12 characters" in result.output
    runner.invoke(args=["operators", "create", "ana", "--password", "a long password 1"])
    result = runner.invoke(args=["operators", "create", "ANA", "--password", "a long password 2"])
    assert result.exit_code != 0 and "The operator ana exists." in result.output
    assert len(db.session.scalars(select(Operator)).all()) == 1
