"""The sample messages of an account's feedback reports, read for the console as plain text."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.complaints import arf
from portal.complaints.models import FeedbackReport
from portal.extensions import db

#: The original's headers the team looks at, in this order.
HEADERS = ("From", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
           "DKIM-Signature", "Authentication-Results")
#: Shown as absent when the original has none: what decides whether a complaint link was genuine.
ALWAYS = ("List-Unsubscribe", "DKIM-Signature", "Authentication-Results")
BODY_LIMIT = 5000


@dataclass(frozen=True)
class Sample:
    """One reported message: its report's facts, the original's headers and text (never rendered)."""

    report: FeedbackReport
    headers: list[tuple[str, str | None]]
    body: str


def _body(original) -> str:
    if original is None:
        return ""
    if original.is_multipart():
        for part in original.walk():
            if part.get_content_type() == "text/plain":
                return arf._text(part)[:BODY_LIMIT]
        parts = [part for part in original.walk() if not part.is_multipart()]
        return arf._text(parts[0])[:BODY_LIMIT] if parts else ""
    return arf._text(original)[:BODY_LIMIT]


def of_account(account_id: str, limit: int = 20) -> list[Sample]:
    """The account's newest feedback reports with the message each reported."""
    reports = db.session.scalars(select(FeedbackReport).where(FeedbackReport.account_id == account_id)
                                 .order_by(FeedbackReport.id.desc()).limit(limit))
    samples = []
    for report in reports:
        parsed = arf.parse(report.raw)
        headers = [(name, value) for name in HEADERS for value in parsed.original_header(name)]
        if not parsed.original_header("Authentication-Results") and parsed.field("authentication-results"):
            headers.append(("Authentication-Results", parsed.field("authentication-results") + " (report)"))
        present = {name for name, _value in headers}
        headers += [(name, None) for name in ALWAYS if name not in present]
        samples.append(Sample(report, headers, _body(parsed.original)))
    return samples
