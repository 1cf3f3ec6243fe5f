"""The mandatory footer of every message, and the check of a message before it is sent.

Problem codes are stable (clients match on them):

- ``missing_body``: neither an HTML nor a text part.
- ``missing_unsubscribe_link_html`` / ``missing_unsubscribe_link_text``: the part has neither
  the ``{{unsubscribe_url}}`` placeholder nor a valid portal unsubscribe or preferences link.
- ``missing_postal_address_html`` / ``missing_postal_address_text``: the account's postal
  address does not appear in the part.
- ``account_has_no_postal_address``: the account has none, so no message may be sent.
- ``missing_list_unsubscribe`` / ``duplicate_list_unsubscribe``,
  ``list_unsubscribe_syntax`` (not a list of ``<URI>``), ``list_unsubscribe_no_https``,
  ``list_unsubscribe_multiple_https``, ``list_unsubscribe_http`` (a plain ``http:`` URI),
  ``list_unsubscribe_placeholder`` (a template placeholder left in the header).
- ``missing_list_unsubscribe_post`` / ``duplicate_list_unsubscribe_post``,
  ``list_unsubscribe_post_malformed`` (not exactly ``List-Unsubscribe=One-Click``).

Each of these has the severity ``block``: the message must not be sent as it is. The restricted
content screen adds ``restricted_content:<category>`` problems of severity ``review``: a flag for
the compliance team, which decides nothing (the answer's ``ok`` counts blocking problems only).
"""
from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale

from portal import links
from portal.accounts.models import Account
from portal.addresses import is_postal_address
from portal.errors import Conflict, TokenInvalid
from portal.preferences.headers import ONE_CLICK
from portal.screening import operations as screening

PLACEHOLDER = "{{unsubscribe_url}}"
_PLACEHOLDERS = ("{{", "%%", "${")
_SPACE = re.compile(r"[\s,]+")
#: Portal links in a part that are verified at most (each costs an HMAC): the first valid one counts.
MAX_LINKS_CHECKED = 100


BLOCK, REVIEW = "block", "review"


@dataclass(frozen=True)
class Problem:
    """One missing or malformed piece of a message, with a stable code: it blocks sending."""

    code: str
    message: str
    severity: str = BLOCK


def footer(account: Account) -> dict[str, str]:
    """The footer (HTML and text) with the postal address and the ``{{unsubscribe_url}}`` placeholder."""
    if not is_postal_address(account.postal_address):
        raise Conflict("The account has no postal address; it cannot send.", code="no_postal_address")
    with force_locale(account.locale or "en"):
        context = {"account": account, "placeholder": PLACEHOLDER}
        return {"html": render_template("preferences/footer.html", **context).strip(),
                "text": render_template("preferences/footer.txt", **context).strip(),
                "placeholders": [PLACEHOLDER]}


def check(account: Account, html_part: str | None, text_part: str | None,
          headers: dict[str, str | list[str]]) -> list[Problem]:
    """Every problem of a message: body links and address, List-Unsubscribe(-Post) headers."""
    problems = _check_parts(account, html_part, text_part)
    values = _header_values(headers)
    problems += _check_list_unsubscribe(values.get("list-unsubscribe", []))
    problems += _check_post(values.get("list-unsubscribe-post", []))
    problems += screening.screen(account, html_part, text_part, headers)  # restricted_content:<category>
    return problems


def _check_parts(account: Account, html_part: str | None, text_part: str | None) -> list[Problem]:
    if html_part is None and text_part is None:
        return [Problem("missing_body", "The message has neither an HTML nor a text part.")]
    address = _flatten(account.postal_address) if is_postal_address(account.postal_address) else ""
    problems = [] if address else [Problem("account_has_no_postal_address",
                                           "The account has no postal address; it cannot send.")]
    for name, body, plain in (("html", html_part, _html_text), ("text", text_part, lambda s: s)):
        if body is None:
            continue
        if not _has_unsubscribe_link(body if name == "text" else html.unescape(body)):
            problems.append(Problem(f"missing_unsubscribe_link_{name}",
                                    f"The {name} part has no unsubscribe link ({PLACEHOLDER})."))
        if address and address not in _flatten(plain(body)):
            problems.append(Problem(f"missing_postal_address_{name}",
                                    f"The {name} part does not show the account's postal address."))
    return problems


def _html_text(body: str) -> str:
    """The text of an HTML part: each tag (``<`` to the next ``>``) a space, entities decoded.

    One pass over the input, whatever it holds: a ``<`` that no ``>`` follows ends the tags, so
    nothing is scanned twice (``<[^>]*>`` as a regex took 19 s on 160,000 ``<``; so does Python
    3.11's html.parser on ``<!--`` or ``</a`` repeated: both rescan the rest at each ``<``).
    """
    parts, start = [], 0
    while (opening := body.find("<", start)) >= 0:
        closing = body.find(">", opening + 1)
        if closing < 0:
            break
        parts += (body[start:opening], " ")
        start = closing + 1
    parts.append(body[start:])
    return html.unescape("".join(parts))


def _flatten(value: str) -> str:
    """Lower case, runs of spaces, line breaks and commas as one space: addresses compare loosely."""
    return _SPACE.sub(" ", value).strip().lower()


def _has_unsubscribe_link(body: str) -> bool:
    if PLACEHOLDER in body:
        return True
    base = re.escape(current_app.config["PORTAL_BASE_URL"])
    found = re.finditer(base + r"/(unsubscribe|preferences)/([A-Za-z0-9_.\-]+)", body)
    for match in itertools.islice(found, MAX_LINKS_CHECKED):
        purpose, token = match.groups()
        try:
            links.load_target(purpose, token)
            return True
        except TokenInvalid:
            continue
    return False


def _header_values(headers: dict[str, str | list[str]]) -> dict[str, list[str]]:
    """Header name (lower case) -> every value given; a list value counts as repeated fields."""
    values: dict[str, list[str]] = {}
    for name, value in headers.items():
        items = value if isinstance(value, list) else [value]
        values.setdefault(name.strip().lower(), []).extend(items)
    return values


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _check_list_unsubscribe(values: list[str]) -> list[Problem]:
    if not values:
        return [Problem("missing_list_unsubscribe", "There is no List-Unsubscribe header.")]
    if len(values) > 1:
        return [Problem("duplicate_list_unsubscribe", "There must be exactly one List-Unsubscribe header.")]
    value = _unfold(values[0])
    if any(mark in value for mark in _PLACEHOLDERS):
        return [Problem("list_unsubscribe_placeholder", "List-Unsubscribe still holds a template placeholder.")]
    uris = _uri_list(value)
    if uris is None:
        return [Problem("list_unsubscribe_syntax", "List-Unsubscribe must be a comma-separated list of <URI>.")]
    uris = [uri.lower() for uri in uris]
    https = [uri for uri in uris if uri.startswith("https://")]
    problems = []
    if any(uri.startswith("http://") for uri in uris):
        problems.append(Problem("list_unsubscribe_http", "List-Unsubscribe must not contain an http: URI."))
    if not https:
        problems.append(Problem("list_unsubscribe_no_https", "List-Unsubscribe needs one https: URI."))
    elif len(https) > 1:
        problems.append(Problem("list_unsubscribe_multiple_https",
                                "List-Unsubscribe must contain exactly one https: URI."))
    return problems


def _uri_list(value: str) -> list[str] | None:
    """The URIs of a comma-separated list of ``<URI>`` (no space or angle bracket inside), or None.

    One pass: the regex it replaces backtracked quadratically on a long list.
    """
    uris, position, end = [], 0, len(value)
    while True:
        opening = _skip_space(value, position)
        if opening >= end or value[opening] != "<":
            return None
        closing = value.find(">", opening + 1)
        uri = value[opening + 1:closing] if closing > 0 else ""
        if not uri or "<" in uri or any(char.isspace() for char in uri):
            return None
        uris.append(uri)
        position = _skip_space(value, closing + 1)
        if position == end:
            return uris
        if value[position] != ",":
            return None
        position += 1


def _skip_space(value: str, position: int) -> int:
    while position < len(value) and value[position].isspace():
        position += 1
    return position


def _check_post(values: list[str]) -> list[Problem]:
    if not values:
        return [Problem("missing_list_unsubscribe_post", "There is no List-Unsubscribe-Post header.")]
    if len(values) > 1:
        return [Problem("duplicate_list_unsubscribe_post",
                        "There must be exactly one List-Unsubscribe-Post header.")]
    if _unfold(values[0]).lstrip(" \t") != ONE_CLICK:
        return [Problem("list_unsubscribe_post_malformed",
                        f"List-Unsubscribe-Post must be exactly {ONE_CLICK}.")]
    return []
