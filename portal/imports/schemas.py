"""The JSON shapes of the imports API (for validation of answers and the OpenAPI document)."""
from __future__ import annotations

from portal import api


class RefusedRowOut(api.Schema):
    row: int
    email: str | None
    reason: str
    detail: str | None


class ImportFailure(api.Schema):
    code: str | None
    message: str | None
    #: The data row (record number, the header being 1) the import stopped at.
    row: int | None


class ImportOut(api.Schema):
    id: str
    account_id: str
    list_id: str
    status: str
    api_key_id: str | None
    file_name: str | None
    file_sha256: str | None
    file_bytes: int
    consent_method: str
    attestation: str
    created_at: str
    finished_at: str | None
    rows: int
    accepted: int
    confirmed: int
    pending: int
    refused: int
    #: reason -> count, every reason present.
    refused_by_reason: dict[str, int]
    #: The first refused rows; every one is in ``refused_url``.
    refused_rows: list[RefusedRowOut]
    report_url: str
    refused_url: str
    #: Progress: bytes of ``file_bytes`` read so far, a percentage, an estimate of the seconds left.
    bytes_read: int
    #: Times a worker claimed it (more than 1: a worker died and another took over).
    attempts: int
    percent: float
    eta_seconds: float | None
    started_at: str | None
    #: Why a ``failed`` import failed; None otherwise.
    error: ImportFailure | None


class ImportPage(api.Schema):
    items: list[ImportOut]
    next_cursor: str | None
