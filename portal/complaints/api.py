"""``POST /api/v1/feedback/arf``: feedback-loop reports from the sending platform."""
from __future__ import annotations

from flask import current_app, request

from portal import api
from portal.complaints import operations
from portal.complaints.models import FeedbackReport
from portal.complaints.schemas import FeedbackOut
from portal.errors import PayloadTooLarge


def serialize(report: FeedbackReport, *, duplicate: bool) -> dict:
    """A stored report as the API answers it."""
    return {"report_id": report.id, "feedback_type": report.feedback_type, "matched": report.matched,
            "action": report.action, "duplicate": duplicate}


def _raw_body() -> bytes:
    limit = current_app.config["PORTAL_FEEDBACK_MAX_BYTES"]
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"A feedback report may be at most {limit} bytes.")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"A feedback report may be at most {limit} bytes.")
    return raw


@api.route("/feedback/arf", "POST", summary="Submit a feedback-loop report (ARF or non-ARF complaint)",
           scopes=api.PLATFORM, raw_body="message/rfc822", response=FeedbackOut, status=202, tag="feedback")
def submit_report():
    report, created = operations.ingest_report(_raw_body())
    return serialize(report, duplicate=not created)
