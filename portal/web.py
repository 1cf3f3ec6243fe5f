"""Helpers shared by the HTML pages of every domain."""
from __future__ import annotations

import functools
import hashlib
import time
from typing import Callable

from flask import current_app, g, make_response, request
from markupsafe import Markup

from portal.accounts.branding import shade, usable
from portal.extensions import db
from portal.security import allow, hash_source


def use_account(account) -> None:
    """Make ``account``'s locale the fallback of this request (after ``?lang`` and Accept-Language)."""
    if account is not None:
        g.account_locale = account.locale


def accent_style(account) -> Markup:
    """The ``<style>`` element that gives a page ``account``'s accent colour, allowed by its hash in
    this response's CSP; nothing for an account without one (the stylesheet's colour stays)."""
    colour = usable(getattr(account, "accent_colour", None))
    if colour is None:
        return Markup("")
    css = f":root{{--accent:{colour};--accent-dark:{shade(colour)}}}"
    allow("style-src", hash_source(css))
    return Markup(f"<style>{css}</style>")


def token_key() -> str:
    """Rate-limit key of a token URL: the link, hashed (never the token itself in Redis)."""
    token = (request.view_args or {}).get("token", "")
    return "token:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def config_limit(name: str) -> Callable[[], str]:
    """A Flask-Limiter limit read from the config key ``name`` at request time."""
    return lambda: current_app.config[name]


def private(view: Callable) -> Callable:
    """For pages whose URL carries a token: never cached, never sent on as a Referer."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapper


def writes(min_seconds: str | None = None) -> Callable:
    """A page's form handler: it commits once, here, after the handler answered below 400 (a refusal
    raises, and the error handler rolls back; a handler never commits). With ``min_seconds`` (a config
    key) the answer leaves no sooner than that after the handler started, the commit made before the
    wait, so that every answer of the form takes the same time and the wait holds no lock."""
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            started = time.monotonic()
            answer = view(*args, **kwargs)
            if request.method != "GET" and _status(answer) < 400:
                db.session.commit()
            if min_seconds:
                answer_no_sooner_than(started + current_app.config[min_seconds])
            return answer

        return wrapper

    return decorator


def _status(answer) -> int:
    """The status of a view's return value: a response, ``(body, status)``, or a body (200)."""
    if isinstance(answer, tuple) and len(answer) > 1 and isinstance(answer[1], int):
        return answer[1]
    return getattr(answer, "status_code", 200)


def answer_no_sooner_than(deadline: float) -> None:
    """Wait until ``deadline`` (``time.monotonic()``): every answer of a form takes the same time."""
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
