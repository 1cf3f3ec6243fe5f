"""Response bodies of the feedback-loop API."""
from __future__ import annotations

from typing import Literal

from portal.api import Schema


class FeedbackOut(Schema):
    report_id: int
    #: ``abuse``, ``fraud``, ``not-spam``, ``auth-failure``..., ``non-arf`` or ``unknown``.
    feedback_type: str
    matched: bool
    action: Literal["complaint", "none", "kept", "review"]
    #: True when these exact bytes were received before (nothing was done again).
    duplicate: bool
