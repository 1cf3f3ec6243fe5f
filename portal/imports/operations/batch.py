"""One chunk of an import: a few queries and bulk inserts for a few thousand rows at once."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Text, and_, any_, cast, func, literal, or_, select, true

from portal.accounts.models import Account
from portal.bulk import copy_rows, write_rows
from portal.consent.models import EventType
from portal.consent.models import GENESIS, ConsentEvent
from portal.consent.operations import NewEvent, RowMaker, record_many
from portal.db import isoformat, utcnow
from portal.extensions import db
from portal.imports import emails, opt_outs
from portal.imports.checks import POLICY_DETAILS, Candidate
from portal.imports.models import ConsentMethod, Import, RefusalReason, RefusedRow
from portal.subscriptions.models import (Contact, MailingList, SignupRequest, Subscription,
                                         SubscriptionStatus)
from portal.suppression.models import Suppression, SuppressionScope
from portal.suppression.operations import where_in

#: Rows examined together: one query each for refusals, contacts, suppressions; bulk inserts.
CHUNK_SIZE = 2000
_ON_LIST = (SubscriptionStatus.CONFIRMED, SubscriptionStatus.PENDING)
LEFT_EVERY_LIST = "unsubscribed from every list of this account"
LEFT_EVERYTHING = "left everything from this sender"


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
    #: The ids every row repeats, read once: an ORM attribute read costs more than a plain one,
    #: and a large import makes millions of them.
    ids: SimpleNamespace = field(init=False)

    def __post_init__(self) -> None:
        self.ids = SimpleNamespace(import_id=self.record.id, account_id=self.account.id, list_id=self.mailing_list.id,
                                   source=f"import:{self.record.id}", method=self.record.consent_method)

    def process(self, candidates: list[Candidate]) -> None:
        """Decide every row of the chunk, then write what follows from it."""
        if not candidates:
            return
        self.counts["rows"] += len(candidates)
        self.chunk_now = utcnow()
        self._refuse_duplicates(candidates)
        contacts = self._refuse_present(candidates)
        self._refuse_suppressed(candidates)
        self._refuse_left_every_list(candidates, contacts)
        self._refuse_left_everything(candidates)
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
        refused_before = {row.email_hash for row in lookup(
            (RefusedRow.email_hash,), RefusedRow.email_hash, hashes, RefusedRow.import_id == self.record.id)}
        seen: set[str] = set()
        for candidate in candidates:
            if candidate.email_hash is None:
                continue
            if candidate.reason is None and (candidate.email_hash in seen or candidate.email_hash in refused_before):
                candidate.reason, candidate.detail = RefusalReason.DUPLICATE, "earlier in this file"
            seen.add(candidate.email_hash)

    def _refuse_present(self, candidates: list[Candidate]) -> dict[str, int]:
        """Refuse addresses already on the list (or that left it); answer hash -> contact id."""
        hashes = {c.email_hash for c in candidates if c.reason is None}
        found = lookup((Contact.id, Contact.email_hash, Contact.erased_at), Contact.email_hash, hashes,
                       Contact.account_id == self.account.id)
        statuses = dict(lookup((Subscription.contact_id, Subscription.status), Subscription.contact_id,
                               {row.id for row in found}, Subscription.list_id == self.mailing_list.id))
        by_hash = {row.email_hash: row for row in found}
        for candidate in candidates:
            row = by_hash.get(candidate.email_hash) if candidate.reason is None else None
            if row is None:
                continue
            status = statuses.get(row.id)
            if row.erased_at is not None:
                candidate.reason, candidate.detail = RefusalReason.SUPPRESSED, "erased at the person's request"
            elif status in _ON_LIST:
                candidate.reason, candidate.detail = RefusalReason.DUPLICATE, f"already on this list ({status})"
            elif status is not None:
                candidate.reason, candidate.detail = RefusalReason.SUPPRESSED, f"{status} from this list"
        return {row.email_hash: row.id for row in found}

    def _refuse_left_every_list(self, candidates: list[Candidate], contacts: dict[str, int]) -> None:
        """Refuse a person who said no to this account and stayed on none of its lists (into any list)."""
        known = {c.email_hash for c in candidates if c.reason is None and c.email_hash in contacts}
        self._refuse(candidates, opt_outs.left_every_list(self.account.id, known), LEFT_EVERY_LIST)

    def _refuse_left_everything(self, candidates: list[Candidate]) -> None:
        """Refuse an address whose person once left everything of the account (or was erased)."""
        hashes = {c.email_hash for c in candidates if c.reason is None and c.email_hash is not None}
        self._refuse(candidates, opt_outs.left_everything(self.account.id, hashes), LEFT_EVERYTHING)

    @staticmethod
    def _refuse(candidates: list[Candidate], hashes: set[str], detail: str) -> None:
        for candidate in candidates:
            if candidate.reason is None and candidate.email_hash in hashes:
                candidate.reason, candidate.detail = RefusalReason.SUPPRESSED, detail

    def _refuse_suppressed(self, candidates: list[Candidate]) -> None:
        hashes = [c.email_hash for c in candidates if c.reason is None]
        if not hashes:
            return
        scopes = or_(Suppression.scope == SuppressionScope.GLOBAL,
                     and_(Suppression.scope == SuppressionScope.ACCOUNT, Suppression.account_id == self.account.id),
                     and_(Suppression.scope == SuppressionScope.LIST, Suppression.list_id == self.mailing_list.id))
        entries = db.session.execute(select(Suppression.email_hash, Suppression.scope, Suppression.reason)
                                     .where(among(Suppression.email_hash, hashes), scopes)).all()
        why = {entry.email_hash: f"{entry.scope} suppression: {entry.reason}" for entry in entries}
        for candidate in candidates:
            if candidate.reason is None and candidate.email_hash in why:
                candidate.reason, candidate.detail = RefusalReason.SUPPRESSED, why[candidate.email_hash]

    def _store_refused(self, refused: list[Candidate]) -> None:
        for candidate in refused:
            self.counts[candidate.reason] += 1
        if refused:
            write_rows(RefusedRow.__table__, [
                {"import_id": self.ids.import_id, "row": c.number, "email": c.given or None,
                 "email_hash": c.email_hash, "reason": c.reason, "detail": c.detail} for c in refused])

    # --- acceptance -------------------------------------------------------------------

    def _confirms(self, candidate: Candidate) -> bool:
        """Only an attested double opt-in with its date is confirmed as it stands."""
        return self.ids.method == ConsentMethod.DOUBLE_OPT_IN and candidate.consented_at is not None

    def _accept(self, accepted: list[Candidate], contacts: dict[str, int]) -> None:
        if not accepted:
            return
        created = self._create_contacts([c for c in accepted if c.email_hash not in contacts], contacts)
        pending = [c for c in accepted if not self._confirms(c)]
        requests = self._signup_requests([contacts[c.email_hash] for c in pending])
        self._subscriptions(accepted, contacts, requests)
        # A contact created by this chunk has no chain yet: its event is the first of it, computed
        # by the ledger's own function and copied in as it is made (the database writes one while
        # Python hashes the next). The others join their chains (record_many).
        first = [c for c in accepted if contacts[c.email_hash] in created]
        make = RowMaker()
        write_rows(ConsentEvent.__table__, (make(self._event(c, contacts, requests), 1, GENESIS) for c in first))
        record_many([self._event(c, contacts, requests) for c in accepted if contacts[c.email_hash] not in created])
        emails.queue_repermission(
            self.account, self.mailing_list,
            [(c.email, contacts[c.email_hash], requests[contacts[c.email_hash]]) for c in pending],
            import_id=self.record.id, first_index=self.counts["pending"], start=self.now)
        self.counts["pending"] += len(pending)
        self.counts["confirmed"] += len(accepted) - len(pending)

    def _create_contacts(self, new: list[Candidate], contacts: dict[str, int]) -> set[int]:
        """Insert the contacts that do not exist yet (a concurrent signup's row is kept).

        Adds every one's id to ``contacts``; answers the ids of those this insert created.
        """
        if not new:
            return set()
        table = Contact.__table__
        created = dict(insert_returning(table, [
            {"account_id": self.ids.account_id, "email": c.email, "email_hash": c.email_hash, "name": c.name,
             "created_at": self.now} for c in new], ("email_hash", "id"), ignore_conflicts=True))
        contacts.update(created)
        missing = [c.email_hash for c in new if c.email_hash not in created]
        if missing:
            contacts.update(db.session.execute(select(table.c.email_hash, table.c.id).where(
                table.c.account_id == self.account.id, table.c.email_hash.in_(missing))).all())
        return set(created.values())

    def _signup_requests(self, contact_ids: list[int]) -> dict[int, int]:
        """A re-permission signup request per pending contact: contact id -> request id."""
        if not contact_ids:
            return {}
        table = SignupRequest.__table__
        rows = insert_returning(table, [
            {"contact_id": contact_id, "form_id": None, "consent_text_id": None, "source": "import",
             "list_ids": [self.mailing_list.id], "created_at": self.now,
             "evidence": {"import_id": self.record.id}} for contact_id in contact_ids], ("contact_id", "id"))
        return dict(rows)

    def _subscriptions(self, accepted: list[Candidate], contacts: dict[str, int], requests: dict[int, int]) -> None:
        """Each accepted row's subscription, sent to the database as it is made."""
        write_rows(Subscription.__table__, (self._subscription(c, contacts[c.email_hash], requests)
                                            for c in accepted))

    def _subscription(self, candidate: Candidate, contact_id: int, requests: dict[int, int]) -> dict[str, Any]:
        confirmed = self._confirms(candidate)
        return {
            "contact_id": contact_id, "list_id": self.ids.list_id,
            "status": SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING,
            "requested_at": candidate.consented_at if confirmed else self.now,
            "confirmed_at": candidate.consented_at if confirmed else None,
            "last_contacted_at": candidate.last_contacted_at, "soft_bounces": 0,
            "signup_request_id": requests.get(contact_id), "updated_at": self.now}

    def _event(self, candidate: Candidate, contacts: dict[str, int], requests: dict[int, int]) -> NewEvent:
        contact_id = contacts[candidate.email_hash]
        request_id = requests.get(contact_id)
        evidence: dict[str, Any] = {
            "import_id": self.ids.import_id, "consent_method": self.ids.method,
            "consented_at": isoformat(candidate.consented_at),
            "last_contacted_at": isoformat(candidate.last_contacted_at),
            "source": candidate.source, "row": candidate.number,
            "status": SubscriptionStatus.PENDING if request_id else SubscriptionStatus.CONFIRMED,
        }
        if request_id:
            evidence["signup_request_id"] = request_id
        return NewEvent(EventType.IMPORTED, contact_id, self.ids.account_id, candidate.email,
                        self.ids.source, list_id=self.ids.list_id, evidence=evidence,
                        occurred_at=self.chunk_now)


def among(column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``: one parameter, not thousands."""
    values = list(values)
    if db.session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(key_array(values, column.type))


def key_array(keys: list, key_type):
    """PostgreSQL: ``keys`` as an array parameter of ``key_type``, sent as one comma-joined string
    that the database splits (psycopg dumps a list element by element, microseconds each: a
    noticeable part of a large import). Keys holding a comma go as a list."""
    from sqlalchemy.dialects.postgresql import ARRAY

    joined = ",".join(map(str, keys))
    if not keys or joined.count(",") != len(keys) - 1:
        return literal(keys, type_=ARRAY(key_type))
    return cast(func.string_to_array(literal(joined, Text), ","), ARRAY(key_type))


def lookup(columns: tuple, key, keys, *conditions) -> list:
    """The rows (``columns``) whose ``key`` is one of ``keys`` and that meet ``conditions``.

    On PostgreSQL each key is one probe of an index (a ``LATERAL`` subquery over the unnested
    keys, fenced by ``OFFSET 0``), whatever the planner believes of the table's size: an import's
    own rows are not in the statistics until it commits, and a plan that reads every row of the
    account (or list) for each chunk makes a large import quadratic.
    """
    keys = sorted(keys)
    if not keys:
        return []
    if db.session.get_bind().dialect.name != "postgresql":
        return [row for condition in where_in(key, keys)
                for row in db.session.execute(select(*columns).where(condition, *conditions)).all()]
    return db.session.execute(probes(columns, key, keys, *conditions)).all()


def probes(columns: tuple, key, keys: list, *conditions):
    """PostgreSQL: the query of :func:`lookup`, one index probe per key."""
    wanted = func.unnest(key_array(keys, key.type)).table_valued("key").render_derived("wanted")
    found = select(*columns).where(key == wanted.c.key, *conditions).offset(0).lateral("found")
    return select(found).select_from(wanted).join(found, true())


def insert_returning(table, rows: list[dict[str, Any]], returning: tuple[str, str], *,
                     ignore_conflicts: bool = False) -> list[tuple]:
    """Insert ``rows`` and answer two columns of each row inserted (a conflicting one is skipped
    when ``ignore_conflicts``). PostgreSQL: ``COPY`` into a temporary table, then one
    ``INSERT ... SELECT ... RETURNING``; elsewhere a multi-row ``INSERT ... RETURNING``."""
    if not rows:
        return []
    if db.session.get_bind().dialect.name != "postgresql":
        from sqlalchemy.dialects.sqlite import insert

        statement = insert(table).values(rows)
        if ignore_conflicts:
            statement = statement.on_conflict_do_nothing()
        return db.session.execute(statement.returning(*(table.c[name] for name in returning))).all()
    staging = f"import_staging_{table.name}"
    names = ", ".join(f'"{name}"' for name in rows[0])
    connection = db.session.connection()
    connection.exec_driver_sql(f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" '
                               f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DROP')
    connection.exec_driver_sql(f'TRUNCATE "{staging}"')
    copy_rows(staging, table, rows)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    return connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}"{conflict} '
        f'RETURNING "{returning[0]}", "{returning[1]}"').all()
