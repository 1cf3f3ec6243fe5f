"""One chunk of an import: a few queries and bulk inserts for a few thousand rows at once."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from portal.accounts.models import Account
from portal.consent.models import EventType
from portal.consent.operations import NewEvent, record_many
from portal.db import isoformat, utcnow
from portal.extensions import db
from portal.imports import emails
from portal.imports.checks import POLICY_DETAILS, Candidate
from portal.imports.models import ConsentMethod, Import, RefusalReason, RefusedRow
from portal.subscriptions.models import (Contact, MailingList, SignupRequest, Subscription,
                                         SubscriptionStatus)
from portal.suppression.models import Suppression, SuppressionScope

#: Rows examined together: one query each for refusals, contacts, suppressions; bulk inserts.
CHUNK_SIZE = 2000
_ON_LIST = (SubscriptionStatus.CONFIRMED, SubscriptionStatus.PENDING)
#: A person's own "no" to a list: unsubscribed, or complained.
_LEFT = (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.COMPLAINED)


@dataclass
class Batch:
    """The state an import carries from chunk to chunk: counts and the mail schedule."""

    record: Import
    account: Account
    mailing_list: MailingList
    now: datetime
    counts: Counter = field(default_factory=Counter)
    #: The time of the chunk being written: its ledger events' ``occurred_at``.
    chunk_now: datetime | None = None

    def process(self, candidates: list[Candidate]) -> None:
        """Decide every row of the chunk, then write what follows from it."""
        if not candidates:
            return
        self.counts["rows"] += len(candidates)
        self.chunk_now = utcnow()
        self._refuse_duplicates(candidates)
        contacts = self._refuse_present(candidates)
        self._refuse_left_everything(candidates, contacts)
        self._refuse_suppressed(candidates)
        for candidate in candidates:
            if candidate.reason is None and candidate.policy:
                candidate.reason, candidate.detail = candidate.policy, POLICY_DETAILS[candidate.policy]
        accepted = [c for c in candidates if c.reason is None]
        self._accept(accepted, contacts)
        self._store_refused([c for c in candidates if c.reason is not None])

    # --- refusals ---------------------------------------------------------------------

    def _refuse_duplicates(self, candidates: list[Candidate]) -> None:
        """Refuse an address seen earlier in the file: in this chunk or refused in an earlier one.

        (Accepted in an earlier chunk, it is on the list by now and refused by :meth:`_refuse_present`.)
        """
        hashes = {c.email_hash for c in candidates if c.reason is None}
        refused_before = set(db.session.scalars(select(RefusedRow.email_hash).where(
            RefusedRow.import_id == self.record.id, RefusedRow.email_hash.in_(hashes)))) if hashes else set()
        seen: set[str] = set()
        for candidate in candidates:
            if candidate.email_hash is None:
                continue
            if candidate.reason is None and (candidate.email_hash in seen or candidate.email_hash in refused_before):
                candidate.reason, candidate.detail = RefusalReason.DUPLICATE, "earlier in this file"
            seen.add(candidate.email_hash)

    def _refuse_present(self, candidates: list[Candidate]) -> dict[str, int]:
        """Refuse addresses already on the list (or that left it); answer hash -> contact id."""
        hashes = [c.email_hash for c in candidates if c.reason is None]
        if not hashes:
            return {}
        found = db.session.execute(
            select(Contact.id, Contact.email_hash, Contact.erased_at, Subscription.status)
            .outerjoin(Subscription, and_(Subscription.contact_id == Contact.id,
                                          Subscription.list_id == self.mailing_list.id))
            .where(Contact.account_id == self.account.id, Contact.email_hash.in_(hashes))).all()
        by_hash = {row.email_hash: row for row in found}
        for candidate in candidates:
            row = by_hash.get(candidate.email_hash) if candidate.reason is None else None
            if row is None:
                continue
            if row.erased_at is not None:
                candidate.reason, candidate.detail = RefusalReason.SUPPRESSED, "erased at the person's request"
            elif row.status in _ON_LIST:
                candidate.reason, candidate.detail = RefusalReason.DUPLICATE, f"already on this list ({row.status})"
            elif row.status is not None:
                candidate.reason, candidate.detail = RefusalReason.SUPPRESSED, f"{row.status} from this list"
        return {row.email_hash: row.id for row in found}

    def _refuse_left_everything(self, candidates: list[Candidate], contacts: dict[str, int]) -> None:
        """Refuse a contact who left every list of the account it was on (into any list of it)."""
        ids = {contacts[c.email_hash] for c in candidates if c.reason is None and c.email_hash in contacts}
        if not ids:
            return
        lists = MailingList.__table__
        statuses = db.session.execute(
            select(Subscription.contact_id, Subscription.status).join(lists, lists.c.id == Subscription.list_id)
            .where(Subscription.contact_id.in_(ids), lists.c.account_id == self.account.id)).all()
        left, stayed = set(), set()
        for contact_id, status in statuses:
            (left if status in _LEFT else stayed).add(contact_id)
        gone = left - stayed
        for candidate in candidates:
            if candidate.reason is None and contacts.get(candidate.email_hash) in gone:
                candidate.reason = RefusalReason.SUPPRESSED
                candidate.detail = "unsubscribed from every list of this account"

    def _refuse_suppressed(self, candidates: list[Candidate]) -> None:
        hashes = [c.email_hash for c in candidates if c.reason is None]
        if not hashes:
            return
        scopes = or_(Suppression.scope == SuppressionScope.GLOBAL,
                     and_(Suppression.scope == SuppressionScope.ACCOUNT, Suppression.account_id == self.account.id),
                     and_(Suppression.scope == SuppressionScope.LIST, Suppression.list_id == self.mailing_list.id))
        entries = db.session.execute(select(Suppression.email_hash, Suppression.scope, Suppression.reason)
                                     .where(Suppression.email_hash.in_(hashes), scopes)).all()
        why = {entry.email_hash: f"{entry.scope} suppression: {entry.reason}" for entry in entries}
        for candidate in candidates:
            if candidate.reason is None and candidate.email_hash in why:
                candidate.reason, candidate.detail = RefusalReason.SUPPRESSED, why[candidate.email_hash]

    def _store_refused(self, refused: list[Candidate]) -> None:
        for candidate in refused:
            self.counts[candidate.reason] += 1
        if refused:
            db.session.execute(RefusedRow.__table__.insert(), [
                {"import_id": self.record.id, "row": c.number, "email": c.given or None,
                 "email_hash": c.email_hash, "reason": c.reason, "detail": c.detail} for c in refused])

    # --- acceptance -------------------------------------------------------------------

    def _confirms(self, candidate: Candidate) -> bool:
        """Only an attested double opt-in with its date is confirmed as it stands."""
        return self.record.consent_method == ConsentMethod.DOUBLE_OPT_IN and candidate.consented_at is not None

    def _accept(self, accepted: list[Candidate], contacts: dict[str, int]) -> None:
        if not accepted:
            return
        contacts.update(self._create_contacts([c for c in accepted if c.email_hash not in contacts]))
        pending = [c for c in accepted if not self._confirms(c)]
        requests = self._signup_requests([contacts[c.email_hash] for c in pending])
        self._subscriptions(accepted, contacts, requests)
        record_many([self._event(c, contacts[c.email_hash], requests.get(contacts[c.email_hash]))
                     for c in accepted])
        rows = emails.repermission_rows(
            self.account, self.mailing_list,
            [(c.email, contacts[c.email_hash], requests[contacts[c.email_hash]]) for c in pending],
            import_id=self.record.id, first_index=self.counts["pending"], start=self.now)
        emails.insert_rows(rows)
        self.counts["pending"] += len(pending)
        self.counts["confirmed"] += len(accepted) - len(pending)

    def _create_contacts(self, new: list[Candidate]) -> dict[str, int]:
        """Insert the contacts that do not exist yet (a concurrent signup's row is kept); their ids."""
        if not new:
            return {}
        table = Contact.__table__
        _insert_ignoring_conflicts(table, [
            {"account_id": self.account.id, "email": c.email, "email_hash": c.email_hash, "name": c.name,
             "created_at": self.now} for c in new])
        return dict(db.session.execute(select(table.c.email_hash, table.c.id).where(
            table.c.account_id == self.account.id, table.c.email_hash.in_([c.email_hash for c in new]))).all())

    def _signup_requests(self, contact_ids: list[int]) -> dict[int, int]:
        """A re-permission signup request per pending contact: contact id -> request id."""
        if not contact_ids:
            return {}
        table = SignupRequest.__table__
        rows = db.session.execute(table.insert().returning(table.c.contact_id, table.c.id), [
            {"contact_id": contact_id, "form_id": None, "consent_text_id": None, "source": "import",
             "list_ids": [self.mailing_list.id], "created_at": self.now,
             "evidence": {"import_id": self.record.id}} for contact_id in contact_ids]).all()
        return dict(rows)

    def _subscriptions(self, accepted: list[Candidate], contacts: dict[str, int], requests: dict[int, int]) -> None:
        rows = []
        for candidate in accepted:
            contact_id = contacts[candidate.email_hash]
            confirmed = self._confirms(candidate)
            rows.append({
                "contact_id": contact_id, "list_id": self.mailing_list.id,
                "status": SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING,
                "requested_at": candidate.consented_at if confirmed else self.now,
                "confirmed_at": candidate.consented_at if confirmed else None,
                "last_contacted_at": candidate.last_contacted_at, "soft_bounces": 0,
                "signup_request_id": requests.get(contact_id), "updated_at": self.now})
        db.session.execute(Subscription.__table__.insert(), rows)

    def _event(self, candidate: Candidate, contact_id: int, request_id: int | None) -> NewEvent:
        evidence: dict[str, Any] = {
            "import_id": self.record.id, "consent_method": self.record.consent_method,
            "consented_at": isoformat(candidate.consented_at),
            "last_contacted_at": isoformat(candidate.last_contacted_at),
            "source": candidate.source, "row": candidate.number,
            "status": SubscriptionStatus.PENDING if request_id else SubscriptionStatus.CONFIRMED,
        }
        if request_id:
            evidence["signup_request_id"] = request_id
        return NewEvent(EventType.IMPORTED, contact_id, self.account.id, candidate.email,
                        f"import:{self.record.id}", list_id=self.mailing_list.id, evidence=evidence,
                        occurred_at=self.chunk_now)


def _insert_ignoring_conflicts(table, rows: list[dict[str, Any]]) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).on_conflict_do_nothing(), rows)
