"""Origins are origins: ``scheme://host[:port]`` with an IDNA host or an IP literal, nothing else.

An allowed origin lands in the ``frame-ancestors`` and ``form-action`` of a Content-Security-Policy
header, so a ``*``, a space, a ``;`` or a quote would widen or rewrite the policy. Parsed without
regular expressions, in one pass.
"""
from __future__ import annotations

import ipaddress
import string

import idna

SCHEMES = {"http": 80, "https": 443}
_LABEL_CHARS = frozenset(string.ascii_lowercase + string.digits + "-")
#: What a redirect URL's path, query and fragment may hold: RFC 3986's characters without the
#: quote, the comma, the semicolon and the star, which a CSP source list gives a meaning to.
_URL_CHARS = frozenset(string.ascii_letters + string.digits + "-._~/?#[]@!$&()+=%:")


class NotAnOrigin(ValueError):
    """The value is not an origin (or URL) the portal accepts; the message says why."""


def origin(value: str) -> str:
    """The canonical origin of ``value`` (lower case, IDNA host, default port dropped)."""
    if not isinstance(value, str) or len(value) > 300:
        raise NotAnOrigin("is not an origin like https://shop.example")
    scheme, separator, authority = value.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in SCHEMES:
        raise NotAnOrigin("must start with https:// (or http://)")
    if authority.endswith("/"):
        authority = authority[:-1]
    for char, what in (("/", "a path"), ("?", "a query"), ("#", "a fragment"), ("@", "credentials")):
        if char in authority:
            raise NotAnOrigin(f"must be an origin only, without {what}")
    host, port = _split_port(authority)
    if port is not None and port == SCHEMES[scheme]:
        port = None
    return f"{scheme}://{_host(host)}" + (f":{port}" if port is not None else "")


def url_origin(value: str) -> str:
    """The canonical origin of an http(s) URL whose path and query hold only safe characters."""
    if not isinstance(value, str) or len(value) > 2000:
        raise NotAnOrigin("is not a URL like https://shop.example/thanks")
    scheme, separator, rest = value.partition("://")
    if not separator:
        raise NotAnOrigin("must start with https:// (or http://)")
    cut = min((rest.find(char) for char in "/?#" if char in rest), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    unsafe = sorted({char for char in tail if char not in _URL_CHARS})
    if unsafe:
        raise NotAnOrigin("may not contain " + " ".join(repr(char) for char in unsafe[:5]))
    return origin(f"{scheme}://{authority}")


def _split_port(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise NotAnOrigin("has an IPv6 literal that is not valid")
        host, rest = authority[:end + 1], authority[end + 1:]
    else:
        host, colon, digits = authority.partition(":")
        rest = colon + digits
    if not rest:
        return host, None
    digits = rest[1:]
    if not rest.startswith(":") or not digits.isascii() or not digits.isdigit() or not 0 < int(digits) < 65536:
        raise NotAnOrigin("has a port that is not a number from 1 to 65535")
    return host, int(digits)


def _host(host: str) -> str:
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise NotAnOrigin("has an IPv6 literal that is not valid") from None
        return f"[{address.compressed}]"
    if host and host.replace(".", "").isascii() and host.replace(".", "").isdigit():
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise NotAnOrigin("has an IPv4 literal that is not valid") from None
    return _domain(host)


def _domain(host: str) -> str:
    if not host or any(char.isspace() or char in "*;,'\"<>\\%" for char in host):
        raise NotAnOrigin("must have a host name, without '*', spaces, ';', ',' or quotes")
    try:
        ascii_host = idna.encode(host.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise NotAnOrigin("has a host name that is not a valid (IDNA) domain name") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or any(not label or len(label) > 63 or set(label) - _LABEL_CHARS
                                    or label.startswith("-") or label.endswith("-") for label in labels):
        raise NotAnOrigin("has a host name that is not a valid domain name")
    return ascii_host


def is_origin(value: str) -> bool:
    """Whether ``value`` is already a canonical origin (what a CSP source list may hold)."""
    try:
        return origin(value) == value
    except NotAnOrigin:
        return False
