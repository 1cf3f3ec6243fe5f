"""Benchmark: does "send me a link to manage my subscriptions" (``POST /manage``) take longer for an
address some account holds (a lookup, a mail rendered and queued) than for one none holds (a
lookup only)? Measured through the test client on a scratch SQLite database (or ``--database-url``).

    python bench/manage_link_timing.py [--trials 30] [--database-url postgresql://...]

Printed, each the median of ``--trials`` interleaved requests: known and unknown with the
floor off (``PORTAL_MANAGE_MIN_SECONDS=0``, the raw difference), then with the default floor
(0.2 s), which every answer waits for. The last line is a JSON object of every figure.
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

from portal import create_app  # noqa: E402


def measure(app, trials: int) -> dict[str, float]:
    """Median seconds of POST /manage for a known and an unknown address, interleaved."""
    from portal.preferences.recovery import form_token

    client = app.test_client()
    with app.app_context():
        sender = form_token(None)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(trials):
        for kind, email in (("known", "ann@example.org"), ("unknown", f"nobody{n}@example.org")):
            started = time.perf_counter()
            response = client.post("/manage", data={"email": email, "sender": sender})
            times[kind].append(time.perf_counter() - started)
            assert response.status_code == 303, response.status_code
    return {kind: statistics.median(values) for kind, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    import flask_migrate

    directory = tempfile.mkdtemp(prefix="bench-manage-")
    url = args.database_url or f"sqlite:///{directory}/bench.sqlite3"
    base = {"SQLALCHEMY_DATABASE_URI": url, "PORTAL_OUTBOX_DIR": f"{directory}/outbox", "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False, "PORTAL_SUPPRESSION_INDEX_DIR": f"{directory}/index",
            "PORTAL_LEDGER_SIGNING_KEY_PATH": f"{directory}/ledger-signing.pem",
            "PORTAL_LEDGER_HMAC_KEY_PATH": f"{directory}/ledger-hmac.key", "PORTAL_LEDGER_ANCHOR_DIR": f"{directory}/anchors"}
    setup = create_app(base)
    with setup.app_context():
        from portal.accounts import operations as accounts
        from portal.extensions import db
        from portal.subscriptions import operations as subscriptions

        flask_migrate.upgrade()
        for i in range(3):  # three accounts hold the address: three mails per known request
            account = accounts.create_account(name=f"Shop {i}", postal_address="Jl. 1", contact_email=f"o{i}@x.example")
            subscriptions.get_or_create_contact(account, "ann@example.org")
        db.session.commit()
    figures = {}
    for label, floor in (("no_floor", 0.0), ("floor_0.2", 0.2)):
        result = measure(create_app({**base, "PORTAL_MANAGE_MIN_SECONDS": floor}), args.trials)
        print(f"{label:10} known {result['known'] * 1000:7.1f} ms   unknown {result['unknown'] * 1000:7.1f} ms   "
              f"difference {(result['known'] - result['unknown']) * 1000:6.1f} ms")
        figures[label] = {kind: round(value * 1000, 2) for kind, value in result.items()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
