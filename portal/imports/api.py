"""``/api/v1/accounts/<id>/lists/<list_id>/imports``: upload a CSV, read its report."""
from __future__ import annotations

from flask import Response, current_app, jsonify, request, stream_with_context
from sqlalchemy import select

from portal import api
from portal.accounts.models import Account
from portal.db import isoformat, utcnow
from portal.errors import PortalError, ValidationFailed
from portal.imports import operations
from portal.imports.models import Import, ImportStatus
from portal.imports.schemas import ImportOut, ImportPage
from portal.subscriptions.operations import get_list

#: Refused rows shown in the JSON report; the CSV has them all.
REPORT_SAMPLE = 100


def _progress(record: Import) -> dict:
    """How far the worker is: a percentage of the bytes and an estimate of the seconds left."""
    total = record.file_bytes or 0
    done = record.status == ImportStatus.FINISHED
    percent = 100.0 if done else (round(100.0 * record.bytes_read / total, 1) if total else 0.0)
    eta = None
    if record.status == ImportStatus.RUNNING and record.started_at and record.bytes_read:
        elapsed = (utcnow() - record.started_at).total_seconds()
        eta = round(elapsed * (total - record.bytes_read) / record.bytes_read, 1)
    elif done:
        eta = 0.0
    error = None
    if record.status == ImportStatus.FAILED:
        error = {"code": record.error_code, "message": record.error_message, "row": record.error_row}
    return {"attempts": record.attempts, "bytes_read": record.bytes_read, "percent": percent, "eta_seconds": eta,
            "started_at": isoformat(record.started_at), "error": error}


def serialize(record: Import, sample: int = REPORT_SAMPLE) -> dict:
    """An import's report as the API answers it: progress while it runs, then its outcome."""
    refused = dict(record.refused or {})
    report_url = f"{api.bp.url_prefix}/accounts/{record.account_id}/lists/{record.list_id}/imports/{record.id}"
    return {**_progress(record),
        "id": record.id, "account_id": record.account_id, "list_id": record.list_id, "status": record.status,
        "api_key_id": record.api_key_id, "file_name": record.file_name, "file_sha256": record.file_sha256,
        "file_bytes": record.file_bytes, "consent_method": record.consent_method,
        "attestation": record.attestation, "created_at": isoformat(record.created_at),
        "finished_at": isoformat(record.finished_at), "rows": record.rows, "accepted": record.accepted,
        "confirmed": record.confirmed, "pending": record.pending, "refused": sum(refused.values()),
        "refused_by_reason": refused,
        "refused_rows": [{"row": r.row, "email": r.email, "reason": r.reason, "detail": r.detail}
                         for r in operations.refused_rows(record, limit=sample)] if sample else [],
        "report_url": report_url,
        "refused_url": f"{report_url}/refused.csv",
    }


def _upload():
    """The multipart ``file`` part, read with this route's larger size limit."""
    request.max_content_length = current_app.config["PORTAL_IMPORT_MAX_BYTES"]
    if request.mimetype != "multipart/form-data":
        raise PortalError("Send multipart/form-data with a 'file' part and the fields 'attestation' "
                          "and 'consent_method'.", code="unsupported_media_type", status=415)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("The 'file' part (the CSV) is missing.")
    return upload


@api.route("/accounts/<account_id>/lists/<list_id>/imports", "POST", raw_body="multipart/form-data",
           summary="Queue a CSV import (parts: file, attestation, consent_method); answers 202 and its report URL",
           response=ImportOut, status=202, tag="imports")
def create_import(account: Account, list_id: str):
    mailing_list = get_list(account, list_id)
    upload = _upload()
    try:
        record = operations.create_import(account, mailing_list, upload.stream, file_name=upload.filename,
                                          attestation=request.form.get("attestation"),
                                          consent_method=request.form.get("consent_method"),
                                          api_key_id=api.current_key().id)
    finally:
        upload.close()  # the spooled temporary file: the upload is in the database now
    response = jsonify(serialize(record, sample=0))
    response.status_code, response.headers["Location"] = 202, response.json["report_url"]
    return response


@api.route("/accounts/<account_id>/lists/<list_id>/imports", "GET", summary="A list's imports",
           query=api.PageQuery, response=ImportPage, tag="imports")
def list_imports(account: Account, list_id: str, query: api.PageQuery):
    mailing_list = get_list(account, list_id)
    statement = select(Import).where(Import.list_id == mailing_list.id)
    return api.paginate(statement, Import.id, query, lambda record: serialize(record, sample=0))


@api.route("/accounts/<account_id>/lists/<list_id>/imports/<import_id>", "GET", summary="An import's report",
           response=ImportOut, tag="imports")
def get_import(account: Account, list_id: str, import_id: str):
    return serialize(operations.get_import(get_list(account, list_id), import_id))


@api.route("/accounts/<account_id>/lists/<list_id>/imports/<import_id>/refused.csv", "GET",
           summary="An import's refused rows with their reasons, as CSV", raw_response="text/csv",
           tag="imports")
def refused_csv(account: Account, list_id: str, import_id: str):
    record = operations.get_import(get_list(account, list_id), import_id)
    return Response(stream_with_context(operations.refused_csv(record)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{record.id}-refused.csv"'})
