"""What the request layer (request id, request metrics; ``portal/logs.py``) costs the hottest call.

    .venv/bin/python bench/request_middleware.py [--calls 20000] [--rounds 3]

Builds the portal on a scratch SQLite file with one suppressed address and a platform key, then
calls its WSGI stack in process (no network, no server) with a plain single-address lookup,
which the suppression fast path answers: alternately through the whole stack and through the
same stack without the outermost request layer (the baseline), and prints microseconds per
call of each and their ratio. ``--profile`` then runs the whole stack under cProfile and prints
where a lookup's time goes: the functions with the most time of their own, as shares of the total.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time

os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build(directory: str):
    """The portal on a migrated SQLite file: (app, account id, key)."""
    from tests import factories
    from tests.conftest import make_app, migrate

    url = f"sqlite:///{directory}/bench.sqlite3"
    migrate(url)
    app = make_app(url, PORTAL_AUTH_CACHE_SECONDS=5)
    with app.app_context():
        from portal.suppression import operations

        account = factories.create_account()
        operations.add("hot@example.org", scope="account", reason="manual", account_id=account.id)
        _key, secret = factories.create_api_key("platform")
        from portal.extensions import db

        db.session.commit()
        return app, account.id, secret


def environ(account_id: str, secret: str) -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/v1/accounts/{account_id}/suppressions/hot@example.org",
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "HTTP_AUTHORIZATION": f"Bearer {secret}",
            "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}


def run(wsgi, base: dict, calls: int) -> float:
    """Microseconds per call of ``wsgi`` on ``calls`` lookups."""
    def start_response(status, headers, exc_info=None):
        assert status.startswith("200"), status

    started = time.perf_counter()
    for _ in range(calls):
        body = wsgi(dict(base), start_response)
        b"".join(body)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="then profile the whole stack (cProfile)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app, account_id, secret = build(directory)
        whole = app.wsgi_app
        inner = whole.wsgi_app  # the same stack without the request layer
        base = environ(account_id, secret)
        run(whole, base, 500)  # warm the index, the key cache and the code
        for round_ in range(1, args.rounds + 1):
            without = run(inner, base, args.calls)
            with_layer = run(whole, base, args.calls)
            print(f"round {round_}: without the request layer {without:7.1f} us/call, "
                  f"with it {with_layer:7.1f} us/call, ratio {without / with_layer:.2f} "
                  f"(+{with_layer - without:.1f} us)")
        if args.profile:
            profile(whole, base, args.calls)


def profile(wsgi, base: dict, calls: int, top: int = 20) -> None:
    """Print the functions with the most time of their own over ``calls`` lookups, as shares."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(run, wsgi, base, calls)
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # tottime of every function
    print(f"profile of {calls} lookups through the whole stack ({total / calls * 1e6:.1f} us a call under cProfile):")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]
    for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in rows:
        where = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        print(f"  {tottime / total:6.1%}  {name} ({where}:{line})")


if __name__ == "__main__":
    main()
