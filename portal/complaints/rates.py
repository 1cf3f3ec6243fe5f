"""Complaint rates: complaints over delivered messages in rolling windows, counted in SQL.

A complaint counts once per person and message (web form and feedback loop alike); those of
category ``too_frequent`` are counted apart. The denominator is the ``delivered`` events of
``POST .../deliveries``, read from their hourly counts (``delivery_counts``): a window is counted
by the hour, from the start of the hour it begins in. Each figure is one aggregate query that
reads at most a row per hour (complaints: the ``(account_id, created_at)`` index), whatever the
volume.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Sequence

from flask import current_app
from sqlalchemy import func, literal_column, select

from portal.complaints.models import Complaint, ComplaintCategory
from portal.db import utcnow
from portal.extensions import db
from portal.suppression.models import hour_of
from portal.suppression.models import DeliveryCount


@dataclass(frozen=True)
class WindowRate:
    """An account's complaints and deliveries over one rolling window."""

    window: str
    hours: int
    complaints: int
    too_frequent: int
    delivered: int
    min_volume: int

    @property
    def rate(self) -> float:
        """Complaints (without ``too_frequent``) over delivered messages; 0 without deliveries."""
        return self.complaints / self.delivered if self.delivered else 0.0

    @property
    def too_frequent_rate(self) -> float:
        return self.too_frequent / self.delivered if self.delivered else 0.0

    @property
    def judged(self) -> bool:
        """Whether the window has the volume for its rate to count (else counts decide)."""
        return self.delivered >= self.min_volume

    def as_dict(self) -> dict:
        return {"window": self.window, "hours": self.hours, "complaints": self.complaints,
                "too_frequent": self.too_frequent, "delivered": self.delivered,
                "rate": round(self.rate, 6), "too_frequent_rate": round(self.too_frequent_rate, 6),
                "judged": self.judged, "min_volume": self.min_volume}


def windows() -> list[tuple[str, int]]:
    """The configured windows as ``(name, hours)``: the short one, then the long one."""
    config = current_app.config
    short, long_days = config["PORTAL_COMPLAINT_SHORT_WINDOW_HOURS"], config["PORTAL_COMPLAINT_LONG_WINDOW_DAYS"]
    return [(f"{short}h", short), (f"{long_days}d", long_days * 24)]


def _person(column=Complaint.contact_id):
    """Who complained: the contact, or (should it be gone) the complaint itself."""
    return func.coalesce(column, -Complaint.id)


def _complaint_counts(account_ids: Sequence[str], starts: list[datetime]) -> dict[str, list[tuple[int, int]]]:
    """``account id -> [(counted, too_frequent)]`` complaints since each start, once per person and message."""
    too_frequent = (Complaint.category == ComplaintCategory.TOO_FREQUENT).label("too_frequent")
    pairs = (select(Complaint.account_id, too_frequent, _person().label("person"), Complaint.message_ref,
                    func.max(Complaint.created_at).label("last"))
             .where(Complaint.account_id.in_(account_ids), Complaint.created_at >= min(starts))
             .group_by(Complaint.account_id, too_frequent, _person(), Complaint.message_ref).subquery())
    columns = []
    for start in starts:
        columns += [func.count().filter(pairs.c.last >= start, pairs.c.too_frequent.is_(False)),
                    func.count().filter(pairs.c.last >= start, pairs.c.too_frequent.is_(True))]
    found = {account_id: [(0, 0)] * len(starts) for account_id in account_ids}
    for account_id, *row in db.session.execute(select(pairs.c.account_id, *columns).group_by(pairs.c.account_id)):
        found[account_id] = [(row[2 * i] or 0, row[2 * i + 1] or 0) for i in range(len(starts))]
    return found


def _delivered_counts(account_ids: Sequence[str], starts: list[datetime]) -> dict[str, list[int]]:
    """``account id -> [delivered since the start of the hour of each start]``: a row per hour at most."""
    hours = [hour_of(start) for start in starts]
    found = {account_id: [0] * len(starts) for account_id in account_ids}
    for account_id, *row in db.session.execute(
            select(DeliveryCount.account_id,
                   *[func.sum(DeliveryCount.delivered).filter(DeliveryCount.hour >= hour) for hour in hours])
            .where(DeliveryCount.account_id.in_(account_ids), DeliveryCount.hour >= min(hours))
            .group_by(DeliveryCount.account_id)):
        found[account_id] = [int(value or 0) for value in row]
    return found


def current_rates(account_id: str, now: datetime | None = None) -> list[WindowRate]:
    """The account's rate in each configured window, ending now."""
    return current_rates_by_account([account_id], now)[account_id]


#: Accounts per query of :func:`current_rates_by_account` (SQLite's bound parameters may be as few as 999).
_CHUNK = 500


def current_rates_by_account(account_ids: Sequence[str], now: datetime | None = None) -> dict[str, list[WindowRate]]:
    """:func:`current_rates` of many accounts (a page of them) in two grouped queries per 500 accounts."""
    now = now or utcnow()
    spans = windows()
    starts = [now - timedelta(hours=hours) for _name, hours in spans]
    floor = current_app.config["PORTAL_COMPLAINT_RATE_MIN_VOLUME"]
    found: dict[str, list[WindowRate]] = {}
    for first in range(0, len(account_ids), _CHUNK):
        chunk = list(account_ids[first:first + _CHUNK])
        complaints, delivered = _complaint_counts(chunk, starts), _delivered_counts(chunk, starts)
        for account_id in chunk:
            found[account_id] = [
                WindowRate(name, hours, counted, frequent, sent, floor)
                for (name, hours), (counted, frequent), sent in zip(spans, complaints[account_id],
                                                                    delivered[account_id])]
    return found


def _day(column):
    """The UTC calendar day of a timestamp column, as ``YYYY-MM-DD`` text, on either database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM-DD'"))
    return func.strftime(literal_column("'%Y-%m-%d'"), column)


@dataclass(frozen=True)
class Day:
    """One day of an account's complaints and deliveries (the console's chart)."""

    day: date
    complaints: int
    too_frequent: int
    delivered: int

    @property
    def rate(self) -> float | None:
        return self.complaints / self.delivered if self.delivered else None


def daily(account_id: str, days: int = 30, today: date | None = None) -> list[Day]:
    """The last ``days`` days, oldest first: two grouped queries, whatever the volume."""
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=utcnow().tzinfo)
    frequent = Complaint.category == ComplaintCategory.TOO_FREQUENT
    complaints = {day: (counted or 0, tf or 0) for day, counted, tf in db.session.execute(
        select(_day(Complaint.created_at), func.count().filter(~frequent), func.count().filter(frequent))
        .where(Complaint.account_id == account_id, Complaint.created_at >= start)
        .group_by(_day(Complaint.created_at)))}
    delivered = {day: int(n or 0) for day, n in db.session.execute(
        select(_day(DeliveryCount.hour), func.sum(DeliveryCount.delivered))
        .where(DeliveryCount.account_id == account_id, DeliveryCount.hour >= start)
        .group_by(_day(DeliveryCount.hour)))}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        counted, tf = complaints.get(day.isoformat(), (0, 0))
        result.append(Day(day, counted, tf, delivered.get(day.isoformat(), 0)))
    return result


def long_window_by_account(account_ids: list[str]) -> dict[str, tuple[int, int]]:
    """``account id -> (complaints, delivered)`` over the long window, for a list of accounts."""
    if not account_ids:
        return {}
    start = utcnow() - timedelta(days=current_app.config["PORTAL_COMPLAINT_LONG_WINDOW_DAYS"])
    complaints = dict(db.session.execute(
        select(Complaint.account_id, func.count()).where(
            Complaint.account_id.in_(account_ids), Complaint.created_at >= start,
            Complaint.category != ComplaintCategory.TOO_FREQUENT).group_by(Complaint.account_id)).all())
    delivered = {account_id: int(n or 0) for account_id, n in db.session.execute(
        select(DeliveryCount.account_id, func.sum(DeliveryCount.delivered)).where(
            DeliveryCount.account_id.in_(account_ids), DeliveryCount.hour >= hour_of(start))
        .group_by(DeliveryCount.account_id))}
    return {account_id: (complaints.get(account_id, 0), delivered.get(account_id, 0)) for account_id in account_ids}
