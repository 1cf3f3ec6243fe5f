"""What can be said of one row without the database: address, dates, role, staleness."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS

from portal.addresses import MAX_LENGTH, email_hash, is_role_address, try_normalise
from portal.imports.models import RefusalReason
from portal.imports.reading import Row

#: Clock skew and time zones: a date up to this far ahead is still "now".
_FUTURE_SLACK = timedelta(days=1)
#: C0 control characters (and DEL) but tab, line feed and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Candidate:
    """A row on its way in: its cleaned values and, once known, why it is refused."""

    number: int
    given: str
    email: str | None = None
    email_hash: str | None = None
    name: str | None = None
    consented_at: datetime | None = None
    last_contacted_at: datetime | None = None
    source: str | None = None
    #: Refusal decided; None while the row may still be accepted.
    reason: str | None = None
    detail: str | None = None
    #: A policy refusal (stale, no consent date) applied after the database checks.
    policy: str | None = None


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 date or date-time (UTC when no zone is given); None when empty.

    :raises ValueError: not such a date.
    """
    if not value:
        return None
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def examine(row: Row, now: datetime, stale_after: timedelta) -> Candidate:
    """A :class:`Candidate` for ``row``, refused already when its content alone says so."""
    values = row.values
    if _CONTROL.search("".join(values.values())):
        column = next(name for name, value in values.items() if _CONTROL.search(value))
        return _refuse(Candidate(row.number, _CONTROL.sub("", values.get("email", ""))[:MAX_LENGTH]),
                       RefusalReason.INVALID, f"{column} holds a control character")
    candidate = Candidate(row.number, values.get("email", "")[:MAX_LENGTH],
                          name=(values.get("name") or None) and values["name"][:200],
                          source=(values.get("source") or None) and values["source"][:200])
    candidate.email = try_normalise(candidate.given) if candidate.given else None
    if candidate.email is None:
        return _refuse(candidate, RefusalReason.INVALID, "not a valid email address")
    candidate.email_hash = email_hash(candidate.email)
    for column in ("consented_at", "last_contacted_at"):
        try:
            moment = parse_time(values.get(column, ""))
        except ValueError:
            return _refuse(candidate, RefusalReason.INVALID, f"{column} is not an ISO 8601 date")
        if moment is not None and moment > now + _FUTURE_SLACK:
            return _refuse(candidate, RefusalReason.INVALID, f"{column} is in the future")
        setattr(candidate, column, moment)
    if is_role_address(candidate.email):
        return _refuse(candidate, RefusalReason.ROLE_ADDRESS, "names a role, not a person")
    if is_disposable(candidate.email):
        return _refuse(candidate, RefusalReason.DISPOSABLE, "a disposable-address domain")
    candidate.policy = _policy(candidate, now - stale_after)
    return candidate


def is_disposable(address: str) -> bool:
    """The address's domain (or a parent of it) is on the ``disposable-email-domains`` blocklist."""
    labels = address.rpartition("@")[2].lower().split(".")
    return any(".".join(labels[i:]) in DISPOSABLE_DOMAINS for i in range(len(labels) - 1))


def _policy(candidate: Candidate, horizon: datetime) -> str | None:
    recent = [moment for moment in (candidate.consented_at, candidate.last_contacted_at)
              if moment is not None and moment >= horizon]
    if not recent:
        return RefusalReason.STALE
    if candidate.consented_at is None:
        return RefusalReason.NO_CONSENT_DATE
    return None


def _refuse(candidate: Candidate, reason: str, detail: str) -> Candidate:
    candidate.reason, candidate.detail = reason, detail
    return candidate


POLICY_DETAILS = {
    RefusalReason.STALE: "no consent and no contact within the stale period",
    RefusalReason.NO_CONSENT_DATE: "no consented_at: permission cannot be shown",
}
