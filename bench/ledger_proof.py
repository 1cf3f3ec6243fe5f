"""Benchmark: a contact's proof bundle when its events are sealed in a huge checkpoint.

    python bench/ledger_proof.py [--events 200000] [--database-url postgresql://postgres@127.0.0.1/postgres]

One checkpoint seals ``--events`` events (a million-row import sealed in one go: the bound
``PORTAL_LEDGER_CHECKPOINT_MAX_EVENTS`` is lifted for the bench), of which 4 are one contact's, in
the middle. Printed: the time (wall and CPU, median of --repeat, 5) of that contact's bundle as the portal
builds it now (the chunk holding each event, 1024 leaves, and the stored chunk roots), beside the
baseline measured in the same run: the way before chunk roots were kept (every event of the
checkpoint read, every leaf hashed). Both bundles are checked by the offline verifier.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from ledger_export import bulk_insert, events, insert_contacts, scratch_database, setup  # noqa: E402

from portal import create_app  # noqa: E402


def baseline_seal(items: list[dict], event_rows) -> None:
    """The paths of the bundle's events as built before chunk roots: each covering checkpoint read
    whole (every event of it) and every leaf hashed, once per checkpoint."""
    from collections import defaultdict

    from portal.consent import proofs
    from portal.consent.operations import last_flags, tree_entries
    from portal.consent.verify import inclusion_paths

    by_checkpoint, checkpoints = defaultdict(list), {}
    for event in event_rows:
        checkpoint = proofs._covering(event.id)
        checkpoints[checkpoint.seq] = checkpoint
        by_checkpoint[checkpoint.seq].append(event)
    for seq, events in by_checkpoint.items():
        rows = proofs._rows(checkpoints[seq])  # every event of the checkpoint
        index_of = {row.id: index for index, row in enumerate(rows)}
        flags = last_flags([row.contact_id for row in rows])
        paths = inclusion_paths(tree_entries(rows, checkpoints[seq].version), [index_of[e.id] for e in events])
        for event in events:
            index = index_of[event.id]
            item = next(i for i in items if i["id"] == event.id)
            item.update(checkpoint_seq=seq, leaf_index=index, path=paths[index], last_in_checkpoint=flags[index])


def timed(function, repeat: int = 5) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``function()`` and its last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL; default: temporary SQLite")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each, the median printed")
    args = parser.parse_args()
    url, drop = scratch_database(args.database_url)
    keys = tempfile.mkdtemp(prefix="bench-proof-keys-")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PORTAL_LEDGER_SEAL_GRACE": __import__("datetime").timedelta(0),
                          "PORTAL_LEDGER_SIGNING_KEY_PATH": os.path.join(keys, "s.pem"),
                          "PORTAL_LEDGER_HMAC_KEY_PATH": os.path.join(keys, "h.key"),
                          "PORTAL_LEDGER_ANCHOR_DIR": os.path.join(keys, "anchors")})
        with app.app_context():
            run(app, args.events, args.repeat)
    finally:
        drop()


def run(app, total: int, repeat: int) -> None:
    from datetime import timedelta

    from portal.consent import operations, proofs
    from portal.consent.keys import public_document
    from portal.consent.verify import verify_bundle
    from portal.extensions import db
    from portal.subscriptions.models import Contact

    account_id, list_id, _secret, text_id = setup(app)
    contacts = insert_contacts(app, account_id, total // 4)
    began = time.perf_counter()
    bulk_insert(app, events(account_id, list_id, text_id, contacts, total))
    checkpoint = operations.seal(timedelta(0), max_events=total)
    db.session.commit()
    print(f"backend: {db.engine.dialect.name}; {total:,} events inserted and sealed in one checkpoint "
          f"({len(checkpoint.chunks or [1])} chunk roots) in {time.perf_counter() - began:.1f}s")
    contact = db.session.get(Contact, contacts[len(contacts) // 2])
    keys_document = public_document()

    def new():
        db.session.rollback()
        return proofs.bundle(contact)

    def old():
        db.session.rollback()
        rows = operations.events_for_contact(contact.id)
        items = [proofs._event(event) for event in rows]
        baseline_seal(items, rows)
        return {**proofs.bundle(contact), "events": items}

    import gc

    gc.collect()
    gc.freeze()  # the setup's millions of objects are not the bundle's cost: no collection walks them
    wall, cpu, bundle = timed(new, repeat)
    base_wall, base_cpu, base_bundle = timed(old, repeat)
    assert verify_bundle(bundle, keys_document) == [] and verify_bundle(base_bundle, keys_document) == []
    assert [e["path"] for e in bundle["events"]] == [e["path"] for e in base_bundle["events"]]
    print(f"bundle of a contact with {len(bundle['events'])} events sealed among {total:,}: "
          f"{wall * 1000:.1f} ms wall, {cpu * 1000:.1f} ms CPU")
    print(f"baseline (the whole checkpoint read and hashed, as before chunk roots): {base_wall * 1000:.1f} ms wall, "
          f"{base_cpu * 1000:.1f} ms CPU; ratio {wall / base_wall:.3f}")
    print(json.dumps({"figure": "ledger proof", "events": total, "bundle_ms": wall * 1000,
                      "baseline_ms": base_wall * 1000, "ratio": wall / base_wall}))


if __name__ == "__main__":
    main()
