"""The console's list of accounts: long-window complaint rates counted, filtered, sorted and cut
into pages by the database, so that every account can be reached whatever their number.

A rate is counted as :mod:`portal.complaints.rates` counts it for the account page: complaints
(not ``too_frequent``) once per person and message, over the ``delivered`` hourly counts from the
start of the window's first hour; 0 without deliveries. ``judged`` is the policy's volume floor.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import Float, case, cast, func, select

from portal.accounts.models import Account
from portal.complaints.models import Complaint, ComplaintCategory
from portal.db import utcnow
from portal.extensions import db
from portal.suppression.models import hour_of
from portal.suppression.models import DeliveryCount

PAGE_SIZE = 50


@dataclass(frozen=True)
class Row:
    """One account of the list with its long-window figures."""

    account: Account
    complaints: int
    delivered: int
    rate: float
    judged: bool


@dataclass(frozen=True)
class Page:
    """One page of the list: its rows, the number of accounts matching, where it stands."""

    rows: list[Row]
    total: int
    number: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _figures():
    """``(complaints, delivered)`` subqueries per account over the long window."""
    start = utcnow() - timedelta(days=current_app.config["PORTAL_COMPLAINT_LONG_WINDOW_DAYS"])
    person = func.coalesce(Complaint.contact_id, -Complaint.id)
    pairs = (select(Complaint.account_id, person.label("person"), Complaint.message_ref)
             .where(Complaint.created_at >= start, Complaint.category != ComplaintCategory.TOO_FREQUENT)
             .group_by(Complaint.account_id, person, Complaint.message_ref).subquery())
    complaints = select(pairs.c.account_id, func.count().label("n")).group_by(pairs.c.account_id).subquery()
    delivered = (select(DeliveryCount.account_id, func.sum(DeliveryCount.delivered).label("n"))
                 .where(DeliveryCount.hour >= hour_of(start)).group_by(DeliveryCount.account_id).subquery())
    return complaints, delivered


def _order(sort: str, complaints, delivered, rate, judged) -> list:
    """The ORDER BY of a sort, ending on name and id so that pages never overlap.

    ``rate`` puts the accounts with the volume for a rate (the policy's floor) first: below it a
    rate of 1 complaint over 2 messages says little, and counts decide.
    """
    orders = {"rate": [judged.desc(), rate.desc(), complaints.desc()],
              "complaints": [complaints.desc(), rate.desc()],
              "delivered": [delivered.desc(), rate.desc()],
              "name": [Account.name],
              "newest": [Account.created_at.desc()]}
    return orders[sort] + [Account.name, Account.id]


def accounts_page(*, status: str | None = None, min_rate: float | None = None, sort: str = "rate",
                  number: int = 1) -> Page:
    """Page ``number`` of the accounts of ``status`` whose rate is at least ``min_rate``, in ``sort`` order."""
    complaint_counts, delivered_counts = _figures()
    complaints = func.coalesce(complaint_counts.c.n, 0)
    delivered = func.coalesce(delivered_counts.c.n, 0)
    rate = case((delivered > 0, cast(complaints, Float) / delivered), else_=0.0)
    judged = delivered >= current_app.config["PORTAL_COMPLAINT_RATE_MIN_VOLUME"]
    query = (select(Account, complaints, delivered, rate, judged)
             .outerjoin(complaint_counts, complaint_counts.c.account_id == Account.id)
             .outerjoin(delivered_counts, delivered_counts.c.account_id == Account.id))
    if status:
        query = query.where(Account.status == status)
    if min_rate:
        query = query.where(rate >= min_rate)
    # The total rides on each row (a window count), so a page costs one pass over the figures;
    # only a page past the end counts again.
    rows = db.session.execute(query.add_columns(func.count().over())
                              .order_by(*_order(sort, complaints, delivered, rate, judged))
                              .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).all()
    total = rows[0][-1] if rows else db.session.scalar(select(func.count()).select_from(query.subquery()))
    return Page([Row(account, int(c), int(d), float(r), bool(j)) for account, c, d, r, j, _total in rows],
                total, number)
