"""An in-process index of suppressed address hashes, kept exact by the changes feed.

Each worker process keeps, per app, a dict from the first 64 bits of an address hash to the
scopes it is suppressed in. Before every use it reads the feed rows after the last ``seq`` it
applied (one indexed query, usually empty). Because feed rows become visible in ``seq`` order
(see :mod:`portal.suppression.operations`), having applied up to N means holding the table as
of a moment no older than the query. A miss is therefore a definite "not suppressed"; a hit
is confirmed, and its entries read, from the database by the full hash.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Iterable

from flask import current_app
from sqlalchemy import select

from portal.addresses import try_normalise
from portal.extensions import db
from portal.suppression.models import Suppression, SuppressionChange, SuppressionScope

#: One scope an entry lives in: (scope, account_id, list_id).
ScopeKey = tuple[str, str | None, str | None]


def address_digest(address: str) -> bytes | None:
    """A SHA-256 digest that equals ``email_hash(normalise(address))`` whenever the address is valid.

    For an ASCII address, normalising is stripping and lower-casing the domain, and the hash
    case-folds everything, so the validator is skipped: an invalid ASCII address then gives
    a digest no valid address has (validity does not depend on case), which no entry can carry,
    since entries are only made from normalised addresses. Others go through the validator
    (None when invalid).
    """
    if not isinstance(address, str):
        return None
    if address.isascii():
        return hashlib.sha256(address.strip().lower().encode()).digest()
    normalised = try_normalise(address)
    return hashlib.sha256(normalised.lower().encode()).digest() if normalised else None


class SuppressionIndex:
    """Hash prefix -> the scope (or frozenset of scopes) it is suppressed in."""

    def __init__(self) -> None:
        self.entries: dict[int, ScopeKey | frozenset[ScopeKey]] = {}
        self.seq = -1  # -1: not loaded yet
        self.lock = threading.Lock()
        self._keys: dict[ScopeKey, ScopeKey] = {}

    def _intern(self, key: ScopeKey) -> ScopeKey:
        return self._keys.setdefault(key, key)

    def _add(self, prefix: int, key: ScopeKey) -> None:
        current = self.entries.get(prefix)
        if current is None:
            self.entries[prefix] = self._intern(key)
        elif isinstance(current, frozenset):
            self.entries[prefix] = current | {key}
        elif current != key:
            self.entries[prefix] = frozenset((current, self._intern(key)))

    def _remove(self, prefix: int, key: ScopeKey) -> None:
        current = self.entries.get(prefix)
        if isinstance(current, frozenset):
            rest = current - {key}
            self.entries[prefix] = next(iter(rest)) if len(rest) == 1 else rest
        elif current == key:
            del self.entries[prefix]

    def sync(self) -> None:
        """Load the table once, then apply the feed rows after the last one applied."""
        with self.lock:
            if self.seq < 0:
                self._load()
            self._catch_up()

    def _load(self) -> None:
        # The seq first, the table after: rows both in the table and in the replayed feed are
        # applied twice, which the set semantics of _add/_remove make harmless.
        from portal.suppression.operations import last_seq

        seq = last_seq()
        rows = db.session.execute(select(Suppression.email_hash, Suppression.scope, Suppression.account_id,
                                         Suppression.list_id))
        for hashed, scope, account_id, list_id in rows:
            self._add(int(hashed[:16], 16), (scope, account_id, list_id))
        self.seq = seq

    def _catch_up(self) -> None:
        rows = db.session.execute(select(
            SuppressionChange.seq, SuppressionChange.op, SuppressionChange.email_hash, SuppressionChange.scope,
            SuppressionChange.account_id, SuppressionChange.list_id,
        ).where(SuppressionChange.seq > self.seq).order_by(SuppressionChange.seq))
        for seq, op, hashed, scope, account_id, list_id in rows:
            apply = self._add if op == "add" else self._remove
            apply(int(hashed[:16], 16), (scope, account_id, list_id))
            self.seq = seq

    def candidates(self, emails: Iterable[str], account_id: str) -> list[tuple[int, str]]:
        """(position, hex hash) of the addresses that may be suppressed for ``account_id``."""
        entries, sha256, from_bytes = self.entries, hashlib.sha256, int.from_bytes
        found = []
        for position, email in enumerate(emails):
            if email.isascii():  # the common case, inlined: see address_digest
                digest = sha256(email.strip().lower().encode()).digest()
            else:
                digest = address_digest(email)
                if digest is None:
                    continue
            scopes = entries.get(from_bytes(digest[:8], "big"))
            if scopes is not None and _concerns(scopes, account_id):
                found.append((position, digest.hex()))
        return found


def _concerns(scopes: ScopeKey | frozenset[ScopeKey], account_id: str) -> bool:
    if isinstance(scopes, tuple):
        return scopes[0] == SuppressionScope.GLOBAL or scopes[1] == account_id
    return any(key[0] == SuppressionScope.GLOBAL or key[1] == account_id for key in scopes)


def index() -> SuppressionIndex:
    """This app's index, synchronised with the feed."""
    extension = current_app.extensions.setdefault("suppression_index", SuppressionIndex())
    extension.sync()
    return extension
