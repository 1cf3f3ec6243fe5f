"""Security headers on every response: a strict Content-Security-Policy, HSTS over HTTPS.

A view widens the policy for its own response by setting ``g.frame_ancestors`` (origins
allowed to frame it: the hosted form) or ``g.form_action`` (origins a form may post or
redirect to).
"""
from __future__ import annotations

from flask import Flask, Response, g, request


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


def init_app(app: Flask) -> None:
    """Install the headers; trust ``X-Forwarded-*`` from ``PORTAL_PROXY_COUNT`` proxies."""
    app.after_request(_set_headers)
    proxies = int(app.config.get("PORTAL_PROXY_COUNT", 0) or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
