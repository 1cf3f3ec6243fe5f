"""Domain errors and the handlers that turn them into JSON (``/api/``) or friendly pages."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge


class PortalError(Exception):
    """A failure the caller can act on; carries an HTTP status and a stable code."""

    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 status: int | None = None, details: Any = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details


class ValidationFailed(PortalError):
    """The input is well-formed but not acceptable."""

    status = 422
    code = "validation_failed"
    message = "The request body is not valid."


class Unauthorized(PortalError):
    """No credentials, or credentials that are not valid."""

    status = 401
    code = "unauthorized"
    message = "A valid API key is required (Authorization: Bearer <key>)."


class Forbidden(PortalError):
    """Valid credentials without the right to this resource."""

    status = 403
    code = "forbidden"
    message = "This API key may not do that."


class NotFound(PortalError):
    """The resource does not exist (or is not visible to the caller)."""

    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(PortalError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PayloadTooLarge(PortalError):
    """Too many items or too many bytes."""

    status = 413
    code = "payload_too_large"
    message = "The request is too large."


class TokenInvalid(PortalError):
    """A link token that is tampered, of another purpose, or names nothing."""

    status = 404
    code = "invalid_link"
    message = "This link is not valid."

    def __init__(self, message: str | None = None, *, account: Any = None, **kwargs):
        super().__init__(message, **kwargs)
        #: The account a well-signed token named (never set from unverified data): the page names it.
        self.account = account


class TokenExpired(TokenInvalid):
    """A link token whose signature is good but whose time is up."""

    status = 410
    code = "expired_link"
    message = "This link has expired."

    def __init__(self, message: str | None = None, *, payload: Any = None, **kwargs):
        super().__init__(message, **kwargs)
        #: The (unverified-for-time) payload, so a page can offer a new link.
        self.payload = payload


class FormUnverified(PortalError):
    """A token page's form whose anti-forgery value is missing or wrong: nothing was done."""

    status = 400
    code = "form_unverified"
    message = "This form could not be checked, so nothing was changed."


def error_body(code: str, message: str, details: Any = None) -> dict:
    """The JSON error shape of the API: ``{"error": {"code", "message"}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def wants_json() -> bool:
    """Whether the current request should get a JSON error rather than a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or (request.is_json and best != "text/html")


def _respond(status: int, code: str, message: str, details: Any = None, **page):
    if wants_json():
        return jsonify(error_body(code, message, details)), status
    return render_template("errors/error.html", status=status, code=code, message=message, **page), status


def _way_forward(error: PortalError) -> dict:
    """What an invalid or expired link's page offers: the sender, when a well-signed token named
    one, and the "send me a link to manage my subscriptions" form."""
    if not isinstance(error, TokenInvalid) or wants_json():
        return {}
    from portal.preferences.forms import manage_form
    from portal.web import use_account

    use_account(error.account)
    return {"account": error.account, "manage_form": manage_form(error.account)}


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: PortalError, HTTP errors, and a 500 that rolls back."""
    from portal.extensions import db

    @app.errorhandler(PortalError)
    def handle_portal_error(error: PortalError):
        db.session.rollback()
        return _respond(error.status, error.code, error.message, error.details, **_way_forward(error))

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(_error: RequestEntityTooLarge):
        # A body that passed its route's limit while being read (no Content-Length declared it).
        from portal.limits import body_limit, too_large

        return handle_portal_error(too_large(body_limit()))

    @app.errorhandler(ClientDisconnected)
    def handle_disconnected(_error: ClientDisconnected):
        from portal.limits import stop_reading

        stop_reading()
        return handle_portal_error(PortalError("The request body stopped arriving.", code="body_incomplete"))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        response, status = _respond(error.code or 500, code, error.description or error.name)
        response = app.make_response((response, status))
        # Keep what the original exception would have sent (Allow on 405, Retry-After on 429).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _respond(500, "internal_error", "Something went wrong on our side.")
