"""Security headers on every response: a strict Content-Security-Policy, HSTS over HTTPS.

A view widens the policy for its own response by setting ``g.frame_ancestors`` (origins
allowed to frame it: the hosted form) or ``g.form_action`` (origins a form may post or
redirect to).
"""
from __future__ import annotations

from flask import Flask, Response, g, request
from werkzeug.exceptions import BadRequest


def content_security_policy() -> str:
    """The CSP of the current response: same-origin only, no inline script or style."""
    ancestors = " ".join(getattr(g, "frame_ancestors", ()) or ()) or "'none'"
    form_action = " ".join(["'self'", *(getattr(g, "form_action", ()) or ())])
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        f"form-action {form_action}",
        f"frame-ancestors {ancestors}",
    ])


def _set_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _refuse_nul() -> None:
    """A NUL character in a header, the query or a posted form field is refused (400).

    PostgreSQL cannot store it in text, so it would otherwise surface as a 500 wherever the
    value is kept (a signup's name, a User-Agent in the ledger). The API checks its own bodies.
    """
    values = [*request.headers.values(), *request.args.values()]
    if not request.path.startswith("/api/"):
        try:
            values.extend(request.form.values())
        except Exception:  # noqa: BLE001 - an unparsable body is the view's to answer
            pass
    if "\0" in request.path or any("\0" in value for value in values):
        raise BadRequest("The request contains a NUL character.")


def init_app(app: Flask) -> None:
    """Install the headers and the NUL guard; trust ``X-Forwarded-*`` from ``PORTAL_PROXY_COUNT`` proxies."""
    app.before_request(_refuse_nul)
    app.after_request(_set_headers)
    proxies = int(app.config.get("PORTAL_PROXY_COUNT", 0) or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
