"""The anchor log: every signed checkpoint, one JSON line each, outside the database.

``PORTAL_LEDGER_ANCHOR_DIR/checkpoints.jsonl`` is appended after each seal commits, and the
same lines are served at ``GET /api/v1/ledger/checkpoints`` so that auditors and the sending
platform keep copies of their own. ``ledger verify --anchors FILE`` compares the database with
such a copy: a checkpoint in the copy but not in the database (a deleted or truncated tail), or
different there (a rewritten tail), is reported.
"""
from __future__ import annotations

import json
import os

from flask import current_app
from sqlalchemy import select

from portal.consent import keys
from portal.consent.models import LedgerCheckpoint
from portal.consent.verify import checkpoint_problem
from portal.extensions import db

LOG_NAME = "checkpoints.jsonl"


def log_path() -> str:
    """The local anchor log."""
    directory = current_app.config["PORTAL_LEDGER_ANCHOR_DIR"] or os.path.join(
        current_app.instance_path, "ledger-anchors")
    return os.path.join(directory, LOG_NAME)


def read(path: str) -> list[dict]:
    """The checkpoints of an anchor copy, in its order; a torn last line is ignored."""
    with open(path, encoding="utf-8") as source:
        lines = source.read().split("\n")
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            found.append(json.loads(line))
        except ValueError:
            if number < len(lines):  # only the last line may be half-written (a crash mid-append)
                raise ValueError(f"{path}: line {number} is not JSON") from None
    return found


def _last_seq(path: str) -> int:
    if not os.path.exists(path):
        return 0
    entries = read(path)
    return entries[-1]["seq"] if entries else 0


def publish() -> int:
    """Append every signed checkpoint the local log lacks (after the seal's commit). Returns lines."""
    from portal.consent.operations import checkpoint_document

    path = log_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    missing = db.session.scalars(select(LedgerCheckpoint).where(
        LedgerCheckpoint.signature.is_not(None), LedgerCheckpoint.seq > _last_seq(path))
        .order_by(LedgerCheckpoint.seq)).all()
    if not missing:
        return 0
    with open(path, "a", encoding="utf-8") as target:
        for checkpoint in missing:
            target.write(json.dumps(checkpoint_document(checkpoint), sort_keys=True) + "\n")
        target.flush()
        os.fsync(target.fileno())
    return len(missing)


def compare(report, files: list[str] | None) -> None:
    """Add to ``report`` every anchored checkpoint the database lacks or holds differently."""
    from portal.consent.operations import Problem, checkpoint_document

    if files is None:
        files = [log_path()] if os.path.exists(log_path()) else []
    stored = {c.seq: c for c in db.session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.signature.is_not(None)))}
    public = keys.ledger_keys().public
    for path in files:
        for entry in read(path):
            report.anchors += 1
            seq = entry.get("seq")
            problem = checkpoint_problem(entry, public)
            if problem:
                report.problems.append(Problem(None, f"the anchor copy {path} holds a bad copy: {problem}", seq))
            elif seq not in stored:
                report.problems.append(Problem(None, f"is in the anchor copy {path} but missing from the "
                                                     "database (deleted or truncated tail)", seq))
            elif checkpoint_document(stored[seq]) != entry:
                report.problems.append(Problem(None, f"differs from the anchor copy {path} (rewritten)", seq))
