"""Reading feedback-loop reports: RFC 5965 ARF, and non-ARF complaints such as Outlook's (JMRP).

Parsing only: nothing here touches the database. Every value read from a report is untrusted,
so it is unfolded, stripped of control characters and clipped before anyone keeps it.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value, getaddresses
from urllib.parse import unquote, urlsplit

from portal.errors import ValidationFailed

#: Headers of which a mail message has at least one (RFC 5322 section 3.6, MIME).
MAIL_HEADERS = frozenset({"from", "to", "date", "message-id", "subject", "content-type", "received",
                          "return-path", "mime-version", "sender", "reply-to"})
REQUIRED_FIELDS = ("feedback-type", "user-agent", "version")
ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers")
#: Paths of the portal's links, whose token names the recipient.
LINK_PATH = re.compile(r"/(unsubscribe|preferences|complaint)/([A-Za-z0-9_.\-]{10,600})/?$")
MAILTO_TOKEN = re.compile(r"^unsubscribe\+([A-Za-z0-9_.\-]{10,600})@", re.IGNORECASE)
FEEDBACK_TYPE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_VALUE = 500
MAX_VALUES = 20
#: Multipart boundaries a report may declare. The email parser tests every line against every
#: enclosing boundary, so its time is lines x depth: 300 nested parts made a 900 KB report take 7 s.
#: A real report nests four or five (report > rfc822 > mixed > alternative > related).
MAX_BOUNDARIES = 16
_BOUNDARY = re.compile(rb"boundary[ \t]*=", re.IGNORECASE)


class NotAMessage(ValidationFailed):
    """The bytes are not a mail message at all."""

    code = "not_a_message"
    message = "The body is not an RFC 5322 mail message."


class Kind:
    ARF = "arf"
    NON_ARF = "non_arf_complaint"
    UNRECOGNISED = "unrecognised"


@dataclass
class Report:
    """What a report says, read defensively."""

    kind: str
    #: Lower-cased Feedback-Type; ``non-arf`` for non-ARF complaints, ``unknown`` when absent.
    feedback_type: str
    #: lower-cased field name -> cleaned values, from the ``message/feedback-report`` part.
    fields: dict[str, list[str]] = field(default_factory=dict)
    #: Headers (and maybe body) of the reported message: part 3.
    original: Message | None = None
    #: Why the report does not conform enough to act on (RFC 5965 section 4), or None.
    malformed: str | None = None

    def field(self, name: str) -> str | None:
        """The first value of a feedback-report field (case-insensitive)."""
        values = self.fields.get(name.lower())
        return values[0] if values else None

    def original_header(self, name: str) -> list[str]:
        """Every value of one header of the original message, cleaned."""
        if self.original is None:
            return []
        return [clean(value) for value in (self.original.get_all(name) or [])][:MAX_VALUES]

    @property
    def message_id(self) -> str | None:
        """The original's Message-ID: the message complained about."""
        values = self.original_header("Message-ID")
        return values[0] if values else None

    def link_tokens(self) -> list[tuple[str, str]]:
        """``(purpose, token)`` of the portal links in the original's List-Unsubscribe."""
        tokens = []
        for value in self.original_header("List-Unsubscribe"):
            for uri in re.findall(r"<([^<>]{1,2000})>", value):
                token = _token_of(uri.strip())
                if token:
                    tokens.append(token)
        return tokens

    def recipient_hints(self) -> list[str]:
        """Addresses the report names as the recipient: Original-Rcpt-To, then Outlook's hint."""
        values = self.fields.get("original-rcpt-to", []) + self.original_header("X-HmXmrOriginalRecipient")
        return addresses_in(values)

    def to_addresses(self) -> list[str]:
        """The addresses in the original's To."""
        return addresses_in(self.original_header("To"))

    def details(self) -> dict:
        """The non-personal facts worth keeping with the stored report."""
        details: dict = {"kind": self.kind}
        for name in ("user-agent", "version", "arrival-date", "received-date", "source-ip",
                     "reported-domain", "reporting-mta", "original-mail-from", "original-envelope-id",
                     "incidents", "authentication-results", "auth-failure", "delivery-result"):
            if self.fields.get(name):
                details[name.replace("-", "_")] = self.field(name)
        if self.fields.get("reported-uri"):
            details["reported_uri"] = self.fields["reported-uri"]
        version = self.field("version")
        if version is not None:
            details["version_nonconformant"] = not re.fullmatch(r"[1-9][0-9]*", version)
        if self.message_id:
            details["original_message_id"] = self.message_id
        if self.malformed:
            details["malformed"] = self.malformed
        return details


def clean(value) -> str:
    """A header value unfolded, without control characters, clipped."""
    text = str(value)
    return " ".join(CONTROL.sub(" ", text).split())[:MAX_VALUE]


def addresses_in(values: list[str]) -> list[str]:
    """The bare addresses in header values, in order, without duplicates."""
    found: list[str] = []
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001  (hostile headers: no address rather than a crash)
        return found
    for _name, address in pairs:
        if address and "@" in address and address not in found:
            found.append(address)
    return found[:MAX_VALUES]


def _token_of(uri: str) -> tuple[str, str] | None:
    if uri.lower().startswith("mailto:"):
        address = unquote(uri[len("mailto:"):].split("?", 1)[0])
        match = MAILTO_TOKEN.match(address)
        return ("mailto", match.group(1)) if match else None
    try:
        path = urlsplit(uri).path
    except ValueError:
        return None
    match = LINK_PATH.search(path)
    return (match.group(1), match.group(2)) if match else None


def parse(raw: bytes) -> Report:
    """Read a report; :class:`NotAMessage` when the bytes are not a mail message.

    Anything else, however broken, gives a :class:`Report` (maybe ``malformed``).
    """
    if _too_many_boundaries(raw):
        if not MAIL_HEADERS.intersection(k.lower() for k in HeaderParser(policy=compat32).parsestr(
                raw[:65536].decode("ascii", "replace"), headersonly=True).keys()):
            raise NotAMessage()
        return Report(Kind.UNRECOGNISED, "unknown", malformed=f"more than {MAX_BOUNDARIES} multipart boundaries")
    try:
        message = email.message_from_bytes(raw, policy=compat32)
    except Exception:  # noqa: BLE001
        raise NotAMessage() from None
    if not raw.strip() or not MAIL_HEADERS.intersection(k.lower() for k in message.keys()):
        raise NotAMessage()
    try:
        return _classify(message)
    except (RecursionError, LookupError, ValueError, TypeError, AttributeError) as error:
        return Report(Kind.UNRECOGNISED, "unknown", malformed=f"unreadable structure ({type(error).__name__})")


def _too_many_boundaries(raw: bytes) -> bool:
    """Whether ``raw`` declares more than :data:`MAX_BOUNDARIES` boundaries (one linear scan)."""
    found = 0
    for _match in _BOUNDARY.finditer(raw):
        found += 1
        if found > MAX_BOUNDARIES:
            return True
    return False


def _classify(message: Message) -> Report:
    parts = _subparts(message)
    if message.get_content_type() == "multipart/report" and _report_type(message) == "feedback-report":
        return _arf(parts)
    original = next((p for p in parts if p.get_content_type() == "message/rfc822"), None)
    if original is not None:
        return Report(Kind.NON_ARF, "non-arf", original=_original(original))
    return Report(Kind.UNRECOGNISED, "unknown")


def _subparts(message: Message) -> list[Message]:
    payload = message.get_payload() if message.is_multipart() else None
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _report_type(message: Message) -> str:
    value = message.get_param("report-type")
    if value is None:
        return ""
    return str(collapse_rfc2231_value(value)).strip().lower()


def _arf(parts: list[Message]) -> Report:
    report_part = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    original_part = next((p for p in parts if p.get_content_type() in ORIGINAL_TYPES), None)
    original = _original(original_part) if original_part is not None else None
    if report_part is None:
        return Report(Kind.ARF, "unknown", original=original, malformed="no message/feedback-report part")
    fields = _fields(report_part)
    report = Report(Kind.ARF, _feedback_type(fields), fields, original)
    report.malformed = _nonconformance(fields)
    return report


def _fields(part: Message) -> dict[str, list[str]]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        items = payload[0].items()
    else:
        items = HeaderParser(policy=compat32).parsestr(_text(part)).items()
    fields: dict[str, list[str]] = {}
    for name, value in items:
        values = fields.setdefault(clean(name).lower()[:80], [])
        if len(values) < MAX_VALUES:
            values.append(clean(value))
    return fields


def _feedback_type(fields: dict[str, list[str]]) -> str:
    values = fields.get("feedback-type") or [""]
    value = values[0].strip().lower()
    return value if FEEDBACK_TYPE.fullmatch(value) else "unknown"


def _nonconformance(fields: dict[str, list[str]]) -> str | None:
    """Why RFC 5965 section 4 says not to act on these fields, or None."""
    for name in REQUIRED_FIELDS:
        count = len(fields.get(name, []))
        if count != 1:
            return f"{name} appears {count} times; exactly once is required"
    if fields.get("arrival-date") and fields.get("received-date"):
        return "both arrival-date and received-date are given"
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", fields["version"][0]):
        return "version is not a number"
    return None


def _original(part: Message) -> Message | None:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
    return HeaderParser(policy=compat32).parsestr(_text(part))


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(part.get_payload() or "")
