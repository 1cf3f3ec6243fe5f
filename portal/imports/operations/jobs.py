"""Queueing an import, running it (in a worker), and finding imports and their refused rows."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from contextlib import contextmanager
from typing import IO, Iterator, Protocol

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account
from portal.accounts.policy import sending_block
from portal.db import new_id, utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.imports.operations.batch import CHUNK_SIZE, Batch
from portal.imports.checks import examine
from portal.imports.models import ConsentMethod, Import, ImportStatus, RefusalReason, RefusedRow
from portal.imports.operations import storage
from portal.imports.reading import HashingReader, read_rows
from portal.subscriptions.models import MailingList

MAX_ATTESTATION = 5000
#: C0 control characters (and DEL) but tab, line feed and carriage return: no text holds them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_account(account: Account) -> None:
    """An account that may not send may not import: the one rule of send-check and the footer."""
    block = sending_block(account)
    if block == "no_postal_address":
        raise Conflict("The account has no postal address: it cannot send, so it cannot import.", code=block)
    if block is not None:
        raise Conflict(f"The account is {account.status}: it cannot import.", code=block)


def _check_request(account: Account, attestation: str | None, consent_method: str | None,
                   file_name: str | None) -> str:
    _check_account(account)
    if consent_method not in ConsentMethod.ALL:
        raise ValidationFailed("consent_method must be one of: " + ", ".join(ConsentMethod.ALL) + ".")
    attestation = (attestation or "").strip()
    if not attestation:
        raise ValidationFailed("attestation is required: say how these people gave their consent.")
    if len(attestation) > MAX_ATTESTATION:
        raise ValidationFailed(f"attestation is longer than {MAX_ATTESTATION} characters.")
    if _CONTROL.search(attestation):
        raise ValidationFailed("attestation holds a control character (such as NUL): send plain text.",
                               code="control_character")
    if file_name and _CONTROL.search(file_name):
        raise ValidationFailed("The file name holds a control character (such as NUL).", code="control_character")
    return attestation


def create_import(account: Account, mailing_list: MailingList, stream: IO[bytes], *, file_name: str | None,
                  attestation: str | None, consent_method: str | None, api_key_id: str | None) -> Import:
    """Check the request, store the upload and queue its import for a worker (flushes).

    :raises ValidationFailed: no attestation, unknown method, or a file that cannot be read (422).
    """
    attestation = _check_request(account, attestation, consent_method, file_name)
    record = Import(id=new_id(), account_id=account.id, list_id=mailing_list.id, api_key_id=api_key_id,
                    file_name=(file_name or None) and file_name[:255], attestation=attestation,
                    consent_method=consent_method, status=ImportStatus.QUEUED, refused={}, rows=0,
                    confirmed=0, pending=0, bytes_read=0, attempts=0, created_at=utcnow())
    db.session.add(record)
    db.session.flush()
    storage.store(record, stream)
    return record


class Progress(Protocol):
    """What :func:`run` tells as it goes: the row it is at, and each chunk done."""

    row: int | None

    def __call__(self, counts: Counter, bytes_read: int) -> None: ...


def run(record: Import, progress: Progress) -> None:
    """Run a claimed import: every row accepted or refused with its reason (flushes, never commits).

    The stored upload is read as a stream, in chunks of :data:`CHUNK_SIZE` rows; the caller
    commits once, so the list gets the whole import or none of it.
    :raises UnreadableFile: the file turned out not to be CSV; :class:`Conflict`: the account
        may no longer import.
    """
    account = db.session.get(Account, record.account_id)
    mailing_list = db.session.get(MailingList, record.list_id)
    _check_account(account)
    reader = HashingReader(storage.UploadStream(record.id))
    batch = Batch(record, account, mailing_list, utcnow())
    stale_after = current_app.config["PORTAL_STALE_AFTER"]
    chunk = []
    with plans_of_their_own():
        for row in read_rows(reader):
            progress.row = row.number
            chunk.append(examine(row, batch.now, stale_after))
            if len(chunk) >= CHUNK_SIZE:
                batch.process(chunk)
                chunk = []
                progress(batch.counts, reader.size)
        batch.process(chunk)
    _finish(record, batch, reader)


@contextmanager
def plans_of_their_own() -> Iterator[None]:
    """PostgreSQL: plan each of the import's statements for its own values, by preparing none.

    psycopg prepares a statement run five times, and a prepared statement's generic plan cannot
    see an array parameter's size (it compares each row with every element of it). An unprepared
    statement is planned for its values every time, while the foreign-key checks of each row
    written keep their cached plans (``SET LOCAL plan_cache_mode = force_custom_plan`` planned
    those again for every row: a quarter of the import's time). The connection's setting is
    given back at the end, as the pool lends the connection on.
    """
    if db.engine.dialect.name != "postgresql":
        yield
        return
    connection = db.session.connection().connection.driver_connection
    threshold, connection.prepare_threshold = connection.prepare_threshold, None
    try:
        yield
    finally:
        connection.prepare_threshold = threshold


def _finish(record: Import, batch: Batch, reader: HashingReader) -> None:
    counts = batch.counts
    record.bytes_read = reader.size
    record.rows, record.confirmed, record.pending = counts["rows"], counts["confirmed"], counts["pending"]
    record.refused = {reason: counts[reason] for reason in RefusalReason.ALL}
    record.status, record.finished_at, record.lease_until = ImportStatus.FINISHED, utcnow(), None
    db.session.flush()


def get_import(mailing_list: MailingList, import_id: str) -> Import:
    """An import into this list, or :class:`NotFound`."""
    record = db.session.get(Import, import_id)
    if record is None or record.list_id != mailing_list.id:
        raise NotFound("No such import.")
    return record


def refused_rows(record: Import, limit: int | None = None) -> Iterator[RefusedRow]:
    """The import's refused rows in file order (streamed)."""
    query = select(RefusedRow).where(RefusedRow.import_id == record.id).order_by(RefusedRow.id)
    if limit is not None:
        query = query.limit(limit)
    return iter(db.session.scalars(query.execution_options(yield_per=2000)))


#: A cell a spreadsheet would run as a formula starts with one of these (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def refused_csv(record: Import) -> Iterator[str]:
    """The refused rows as CSV (``row,email,reason,detail``), a few lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["row", "email", "reason", "detail"])
    for count, refused in enumerate(refused_rows(record), start=1):
        writer.writerow([_cell(refused.row), _cell(refused.email), refused.reason, _cell(refused.detail)])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def list_imports(account_id: str | None = None, limit: int = 50) -> list[Import]:
    """The newest imports, of one account or of all (for operators)."""
    query = select(Import).order_by(Import.created_at.desc()).limit(limit)
    if account_id:
        query = query.where(Import.account_id == account_id)
    return list(db.session.scalars(query))
