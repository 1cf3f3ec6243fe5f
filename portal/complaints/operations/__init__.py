"""Every write of the complaints domain (issue 15): filing a complaint (web form, feedback-loop
report) and what complaints do to an account (the policy's transitions, an operator's decision).
What the policy judges from, and the rates, are read by :mod:`portal.complaints.policy` and
:mod:`portal.complaints.rates`.
"""
from portal.complaints.operations.filing import (FEEDBACK_CATEGORIES, MAX_TEXT, Action, Match, complain_by_link,
                                                 decide, file_complaint, find_complaint, ingest_report, reported,
                                                 resolve, sanitise_text, unambiguous_contact)
from portal.complaints.operations.policy import decide_review, lock, on_complaint, transition

__all__ = ["FEEDBACK_CATEGORIES", "MAX_TEXT", "Action", "Match", "complain_by_link", "decide", "decide_review",
           "file_complaint", "find_complaint", "ingest_report", "lock", "on_complaint", "reported", "resolve",
           "sanitise_text", "transition", "unambiguous_contact"]
