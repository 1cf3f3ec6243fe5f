"""Security headers on every response: a strict Content-Security-Policy, HSTS over HTTPS.

A view widens the policy for its own response by setting ``g.frame_ancestors`` (origins
allowed to frame it: the hosted form), ``g.form_action`` (origins a form may post or
redirect to) or ``g.csp_sources`` (more sources for other directives, e.g. ``{"frame-src":
["'self'"]}``: the API docs page and the development pages), or through :func:`allow`, which adds
to it (a page of an account with an accent colour allows its one ``<style>`` element by hash).
"""
from __future__ import annotations

import base64
import hashlib

from flask import Flask, Response, g, request
from werkzeug.exceptions import BadRequest

from portal.logs import is_token_path


def content_security_policy(frame_ancestors=(), form_action=(), sources=None) -> str:
    """A CSP: same-origin only, no inline script or style; framing and form targets widened as given.

    Only canonical origins are written (a value stored before origins were validated, such as
    ``https://*`` or ``https://a.example;script-src *``, is left out rather than widen the policy).
    ``sources`` maps a directive to more sources: added to the directive's own, or a new directive.
    """
    from portal.origins import is_origin

    ancestors = " ".join(o for o in frame_ancestors or () if is_origin(o)) or "'none'"
    form_targets = " ".join(["'self'", *(o for o in form_action or () if is_origin(o))])
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": "'self'",
        "base-uri": "'none'",
        "form-action": form_targets,
        "frame-ancestors": ancestors,
    }
    for name, more in (sources or {}).items():
        directives[name] = " ".join([directives[name], *more]) if name in directives else " ".join(more)
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def allow(directive: str, *sources: str) -> None:
    """Widen this response's policy: ``sources`` join ``directive``, beside what the view set already."""
    widened = dict(g.get("csp_sources") or {})
    present = list(widened.get(directive, ()))
    widened[directive] = present + [source for source in sources if source not in present]
    g.csp_sources = widened


def hash_source(text: str) -> str:
    """The CSP source that allows exactly the inline element whose content is ``text``."""
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


#: The policy of every response whose view widened nothing (built once, not per response).
DEFAULT_CSP = content_security_policy()

#: The same on every response.
STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def default_headers(secure: bool) -> list[tuple[str, str]]:
    """The security headers of a response that set none itself and widened nothing."""
    return [("Content-Security-Policy", DEFAULT_CSP), *STATIC_HEADERS, *([HSTS] if secure else [])]


def _set_headers(response: Response) -> Response:
    """Add each security header the view did not set itself (one pass over the few it set)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    if "content-security-policy" not in present:
        # csp_sources is popped: where the app context outlives a request (tests), it must not leak.
        widened = g.get("frame_ancestors"), g.get("form_action"), g.pop("csp_sources", None)
        headers.add("Content-Security-Policy",
                    content_security_policy(*widened) if any(widened) else DEFAULT_CSP)
    for name, value in STATIC_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if request.is_secure and "strict-transport-security" not in present:
        headers.add(*HSTS)
    if is_token_path(request.path):
        # A URL that carries a token (every rule with a <token> argument): never cached, never
        # sent on as a Referer, whatever the answer (an error page or a 404 of a mistyped path too).
        headers["Cache-Control"] = "no-store"
        headers["Referrer-Policy"] = "no-referrer"
    return response


def _refuse_nul() -> None:
    """On the pages: a NUL character in the path, the query or a header is refused (400).

    PostgreSQL cannot store it in text, so it would otherwise surface as a 500 wherever the
    value is kept (a User-Agent in the ledger). Posted fields are each form's to check (the
    signup refuses NUL, the complaint form strips control characters from its free text);
    the API answers NUL in its own way (404 in a path, 422 in a parameter or a body).
    """
    if request.path.startswith("/api/"):
        return
    if "\0" in request.path or any("\0" in value for value in (*request.headers.values(), *request.args.values())):
        raise BadRequest("The request contains a NUL character.")


def init_app(app: Flask) -> None:
    """Install the headers and the NUL guard; trust ``X-Forwarded-*`` from ``PORTAL_PROXY_COUNT`` proxies."""
    app.before_request(_refuse_nul)
    app.after_request(_set_headers)
    proxies = app.config["PORTAL_PROXY_COUNT"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
