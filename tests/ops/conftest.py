"""Fixtures of the console tests: an operator, and a client signed in as it."""
from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp
import pytest

from portal.extensions import db
from portal.ops import operations

PASSWORD = "correct horse battery staple"


@dataclass
class Credentials:
    username: str
    password: str
    secret: str

    def code(self, offset_steps: int = 0) -> str:
        totp = pyotp.TOTP(self.secret)
        return totp.at(time.time() + offset_steps * totp.interval)


@pytest.fixture
def operator(app) -> Credentials:
    """A new operator ``ana`` and what signs it in."""
    _operator, secret = operations.create_operator("ana", PASSWORD)
    db.session.commit()
    return Credentials("ana", PASSWORD, secret)


def sign_in(client, credentials: Credentials, **overrides):
    """POST the sign-in form; the response."""
    form = {"username": credentials.username, "password": credentials.password, "code": credentials.code()}
    form.update(overrides)
    return client.post("/ops/signin", data=form)


@pytest.fixture
def ops_client(client, operator):
    """A test client signed in to the console."""
    response = sign_in(client, operator)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client
