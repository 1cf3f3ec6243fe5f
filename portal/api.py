"""The JSON API's shared machinery: key authentication, body parsing, pagination, OpenAPI.

Every route of ``/api/v1`` is declared with :func:`route`, which records its schemas so
that ``GET /api/v1/openapi.json`` is generated from the code itself.
"""
from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Iterable

from flask import Blueprint, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from portal.errors import PayloadTooLarge, PortalError, ValidationFailed

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class StatelessApiSessions(SecureCookieSessionInterface):
    """No cookie session under ``/api/``: keys authenticate, and opening one costs every call."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.null_session_class()
        return super().open_session(app, request)

#: Both scopes; most routes are open to both.
BOTH = ("platform", "account")
PLATFORM = ("platform",)
#: No key: for routes that answer nothing personal or private (the ledger's signed checkpoints).
PUBLIC: tuple[str, ...] = ()


class Schema(BaseModel):
    """Base of every request and response body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


#: Text without a C0 control character or DEL (none belongs in an address, an id or a header value).
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def utf8_at_most(octets: int) -> AfterValidator:
    """A check that a string takes at most ``octets`` bytes in UTF-8 (a limit JSON Schema cannot state)."""
    def check(value: str) -> str:
        if len(value.encode("utf-8", "surrogatepass")) > octets:
            raise ValueError(f"at most {octets} octets of UTF-8")
        return value

    return AfterValidator(check)


def _special_use_domains() -> str:
    """A pattern refusing the special-use domains the address validator refuses (``.test``, ``.local``...)."""
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    def any_case(name: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)

    return "^(?!.*[@.](?:" + "|".join(any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES) + ")$)"


#: The JSON Schema words of an address the API validates: an (internationalised) email address, on
#: no special-use domain (mail cannot go there, so ``portal.addresses`` refuses them).
EMAIL = {"format": "idn-email", "pattern": _special_use_domains()}

#: An address in a request body: at most RFC 5321's 320 octets (64, "@", 255; counted in UTF-8, as
#: RFC 6531 counts them) and no control character. However a client writes it in JSON, it then
#: costs at most 962 bytes (a 4-octet character as a 12-byte surrogate-pair escape): the batch
#: limit (``PORTAL_API_BATCH_MAX_BYTES``) is sized on it.
Address = Annotated[str, Field(min_length=1, max_length=320, pattern=NO_CONTROL,
                               description="An email address: at most 320 octets of UTF-8, no control character."),
                    utf8_at_most(320)]
#: A Message-ID as RFC 5322 writes it (msg-id: printable ASCII, no quote or backslash), at most the
#: 500 characters the ledger keeps of it (``message_ref``): one byte a character in any JSON.
MessageId = Annotated[str, Field(max_length=500, pattern=r"^[!#-\[\]-~]*$",
                                 description="The message's Message-ID (RFC 5322 msg-id: printable ASCII).")]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The JSON error shape."""

    error: ErrorDetail


@dataclass
class Operation:
    """What the OpenAPI document says of one route and method."""

    rule: str
    method: str
    summary: str
    scopes: tuple[str, ...]
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    query: type[BaseModel] | None = None
    tags: list[str] = field(default_factory=list)
    raw_body: str | None = None  # a non-JSON request body's media type
    raw_response: str | None = None  # a non-JSON answer's media type
    optional_body: type[BaseModel] | None = None  # a JSON body the view may read (413 and 415 then)
    account_row: bool = True  # the view gets the account's row (else only its checked id)
    endpoint: str = ""  # the Flask endpoint, without the blueprint's name
    view: Callable | None = None  # the view function as written (without the route's wrapper)


OPERATIONS: list[Operation] = []


def operation_of(endpoint: str) -> Operation:
    """The declaration of the route whose endpoint is ``endpoint`` (``suppression_lookup``)."""
    return next(operation for operation in OPERATIONS if operation.endpoint == endpoint)


def guard(operation: Operation, authorization: str, values: dict[str, Any]):
    """The route's own checks, in its order: the key for its scopes, then the account its path names.

    Returns the key (None for a :data:`PUBLIC` route) and the view's arguments: ``account`` (the row)
    or the checked ``account_id``. Every route runs it, and so does the lookup's fast path
    (:mod:`portal.suppression.fastpath`), so a check added here holds for both.
    """
    key = authenticate(authorization, operation.scopes) if operation.scopes else None
    values = dict(values)
    if "account_id" in values and operation.account_row:
        values["account"] = _load_account(key, values.pop("account_id"))
    elif "account_id" in values:
        values["account_id"] = check_account_id(key, values["account_id"])
    return key, values


def path_pattern(operation: Operation, converters: dict[str, type]) -> re.Pattern:
    """A regular expression matching exactly the paths of ``operation``'s rule, built from the rule
    and the URL map's own converters (their ``regex``); groups named for the rule's variables."""
    pattern, position = "", 0
    rule = bp.url_prefix + operation.rule
    for variable in re.finditer(r"<(?:(\w+):)?(\w+)>", rule):
        converter = converters[variable.group(1) or "default"]
        pattern += re.escape(rule[position:variable.start()]) + f"(?P<{variable.group(2)}>{converter.regex})"
        position = variable.end()
    return re.compile(pattern + re.escape(rule[position:]) + r"\Z")


def current_key():
    """The API key that authenticated this request (``id``, ``scope``, ``account_id``)."""
    return g.api_key


def authenticate(header: str, scopes: tuple[str, ...]):
    """The key an ``Authorization`` header presents, when it is live and of one of ``scopes``.

    :raises Unauthorized: no key, or not a valid one (401).
    :raises Forbidden: a valid key of another scope (403).
    """
    from portal.accounts.operations import authenticate_key

    scheme, _, secret = header.partition(" ")
    key = authenticate_key(secret.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        from portal.errors import Unauthorized
        raise Unauthorized()
    if key.scope not in scopes:
        from portal.errors import Forbidden
        raise Forbidden("This route needs a key of scope: " + ", ".join(scopes) + ".")
    return key


def check_account_id(key, account_id: str) -> str:
    """``account_id`` when the key may reach that account and it exists; 404 otherwise."""
    from portal.accounts.operations import account_exists
    from portal.errors import NotFound

    if key.scope == "account" and key.account_id != account_id or "\x00" in account_id:
        # Same answer as a missing account: a key cannot probe other accounts' ids.
        raise NotFound("No such account.")
    if key.scope == "platform" and not account_exists(account_id):
        raise NotFound("No such account.")
    return account_id


def _load_account(key, account_id: str):
    from portal.accounts.models import Account
    from portal.errors import NotFound
    from portal.extensions import db

    if key.scope == "account" and key.account_id != account_id or "\x00" in account_id:
        # Same answer as a missing account: a key cannot probe other accounts' ids.
        raise NotFound("No such account.")
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    return account


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Validate the JSON body against ``model``; a clear 400/422 when it does not fit."""
    if not request.is_json:
        raise PortalError("Send a JSON body with Content-Type: application/json.",
                          code="unsupported_media_type", status=415)
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise PortalError("The body is not valid JSON.", code="invalid_json") from None
    if b"\\u0000" in raw and _contains_nul(data):
        # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
        raise ValidationFailed("Text may not contain NUL (\\u0000) characters.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors(include_url=False)]
        for e in error.errors(include_url=False):
            if e["type"] in {"too_long"} and e["loc"] and len(e["loc"]) == 1:
                raise PayloadTooLarge(f"Too many items in {e['loc'][0]!r}: {e['msg']}.",
                                      details=details) from None
        raise ValidationFailed(details=details) from None


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Validate the query string against ``model``."""
    if any("\x00" in value for value in request.args.values()):
        raise ValidationFailed("The query string may not contain NUL characters.")
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors(include_url=False)]
        raise ValidationFailed("The query string is not valid.", details=details) from None


def route(rule: str, method: str, *, summary: str, scopes: tuple[str, ...] = BOTH,
          body: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
          query: type[BaseModel] | None = None, status: int = 200, raw_body: str | None = None,
          raw_response: str | None = None, tag: str | None = None, account_row: bool = True,
          optional_body: type[BaseModel] | None = None) -> Callable:
    """Declare an API route: authenticated for ``scopes`` (:data:`PUBLIC`: no key), body parsed, documented.

    The view gets ``account`` (when the rule has ``<account_id>``), ``body`` and ``query``
    as keyword arguments, and returns a dict (sent as JSON with ``status``) or a Response. After a
    successful handler of any method but GET the route commits, once: handlers never commit (a
    refusal raises, and the error handler rolls back).
    ``optional_body`` names a JSON body the view reads itself when one is sent (documented, not parsed).
    With ``account_row=False`` it gets the checked ``account_id`` instead of the row (no
    query when the account is known to exist): only for routes that decide nothing on the
    account's status or other columns.
    """
    operation = Operation(rule, method, summary, scopes, body, response, status, query, [tag] if tag else [],
                          raw_body, raw_response, optional_body, account_row)
    OPERATIONS.append(operation)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**kwargs):
            g.api_key, kwargs = guard(operation, request.headers.get("Authorization", ""), kwargs)
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            result = view(**kwargs)
            if method != "GET" and _succeeded(result):
                _commit()  # once, for every handler: an operation flushes, the route commits
            if isinstance(result, dict):
                return jsonify(result), status
            return result

        operation.endpoint, operation.view = f"{view.__module__.split('.')[-2]}_{view.__name__}", view
        bp.add_url_rule(rule, endpoint=operation.endpoint, view_func=wrapper, methods=[method])
        return wrapper

    return decorator


def _succeeded(result: Any) -> bool:
    """Whether a handler's answer is a success (a dict, or a response below 400): only then commit."""
    code = getattr(result, "status_code", None)
    return code is None or code < 400


def _commit() -> None:
    from portal.extensions import db

    db.session.commit()


# --- pagination -------------------------------------------------------------------------

def encode_cursor(value: Any) -> str:
    """An opaque cursor for the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The value behind a cursor from :func:`encode_cursor`; 400 when it is not one."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        value = None
    if (not isinstance(value, (str, int)) or isinstance(value, bool) or "\x00" in str(value)
            or isinstance(value, int) and not -2**63 <= value < 2**63):
        raise PortalError("The cursor is not valid.", code="invalid_cursor")
    return value


CURSOR_DESCRIPTION = ("Opaque: the next_cursor of the previous page (absent for the first page). "
                      "A page's next_cursor is null when there is nothing after it.")


class PageQuery(Schema):
    """``?cursor=&limit=`` of every list endpoint."""

    model_config = ConfigDict(extra="ignore")
    cursor: str | None = Field(default=None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(default=100, ge=1, le=1000, description="Items per page.")


class LongPageQuery(PageQuery):
    """``?cursor=&limit=`` of a feed read in long pages (up to 10,000)."""

    limit: int = Field(default=100, ge=1, le=10_000, description="Items per page.")


def paginate(query, key_column, page: PageQuery, serialize: Callable[[Any], dict],
             max_limit: int = 1000) -> dict:
    """Keyset pagination on a unique, increasing ``key_column``: ``{"items", "next_cursor"}``."""
    if not 1 <= page.limit <= max_limit:
        raise ValidationFailed(f"limit must be between 1 and {max_limit}.")
    after = decode_cursor(page.cursor)
    if after is not None:
        query = query.where(key_column > after)
    rows = list(_scalars(query.order_by(key_column).limit(page.limit + 1)))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor(getattr(rows[-1], key_column.key)) if more else None
    return {"items": [serialize(row) for row in rows], "next_cursor": next_cursor}


def _scalars(query) -> Iterable:
    from portal.extensions import db

    return db.session.scalars(query)
