"""Row checks that need no database: dates, staleness, role addresses."""
from datetime import datetime, timedelta, timezone

import pytest

from portal.imports.checks import examine, parse_time
from portal.imports.reading import Row

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
STALE = timedelta(days=730)


def check(**values):
    return examine(Row(2, {"email": "ann@example.org", **values}), NOW, STALE)


@pytest.mark.parametrize("text, expected", [
    ("2026-01-02", datetime(2026, 1, 2, tzinfo=timezone.utc)),
    ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ("2026-01-02 10:00:00+07:00", datetime(2026, 1, 2, 3, 0, tzinfo=timezone.utc)),
    ("", None),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_stale_boundary_is_the_configured_period():
    assert check(consented_at=(NOW - STALE + timedelta(hours=1)).isoformat()).policy is None
    assert check(consented_at=(NOW - STALE - timedelta(hours=1)).isoformat()).policy == "stale"
    # An old consent with a recent contact is not stale.
    assert check(consented_at="2020-01-01", last_contacted_at="2026-06-01").policy is None


def test_recent_contact_without_consent_date():
    assert check(last_contacted_at="2026-06-01").policy == "no_consent_date"


@pytest.mark.parametrize("address", ["info@example.org", "No-Reply@example.org", "support+eu@example.org",
                                     "postmaster@example.org", "marketing@example.org",
                                     "hello@example.org", "donotreply@example.org", "careers@example.org"])
def test_role_addresses_are_refused(address):
    candidate = examine(Row(2, {"email": address, "consented_at": "2026-01-01"}), NOW, STALE)
    assert candidate.reason == "role_address"


def test_dates_are_checked_before_roles_and_in_the_future_are_invalid():
    assert check(consented_at="01/02/2026").reason == "invalid"
    assert check(consented_at="2026-12-25").detail == "consented_at is in the future"
    assert check(consented_at="2026-11-26").reason is None  # a day of slack for time zones
