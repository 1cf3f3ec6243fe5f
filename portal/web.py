"""Helpers shared by the HTML pages of every domain."""
from __future__ import annotations

import functools
from typing import Callable

from flask import g, make_response


def use_account(account) -> None:
    """Make ``account``'s locale the fallback of this request (after ``?lang`` and Accept-Language)."""
    if account is not None:
        g.account_locale = account.locale


def private(view: Callable) -> Callable:
    """For pages whose URL carries a token: never cached, never sent on as a Referer."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapper
