"""Where a bulk check's time goes, in process: CPU milliseconds per call of 10,000 addresses.

    .venv/bin/python bench/bulk_profile.py [SUPPRESSIONS]      # default 200,000; PostgreSQL scratch database

Loads the suppressions as bench/suppression_check.py does, then times with ``time.process_time``
(CPU, so the machine's other load hardly moves it) 20 calls of each: the whole route through
Flask's test client, the index's catch-up alone (``index()``), ``SuppressionIndex.check`` alone
(parse, hash, search), the key check alone, and ``GET /healthz`` (Flask's own cost of a request);
three rounds, then three more after ``gc.freeze()``.
"""
import json, os, sys, tempfile, time
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, os.path.dirname(HERE)); sys.path.insert(0, HERE)
os.chdir(os.path.dirname(HERE))
import suppression_harness as harness
from suppression_check import load_suppressions, batches
N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
with harness.scratch_database("postgresql://postgres@127.0.0.1:5432/postgres") as url:
    account, list_id, key = harness.setup_account(url)
    load_suppressions(url, account, list_id, N)
    bodies, expected = batches(200_000, N, 10_000, 10)
    from portal import create_app
    os.environ["DATABASE_URL"] = url
    app = create_app()
    app.config["PORTAL_SUPPRESSION_INDEX_DIR"] = tempfile.mkdtemp(prefix="bulk-profile-")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    path = f"/api/v1/accounts/{account}/suppressions/check"
    client.post(path, data=bodies[0], headers=headers)
    import gc
    for rnd in range(6):
        if rnd == 3: gc.freeze(); print("frozen", gc.get_freeze_count())
        t = time.process_time()
        for body in bodies: client.post(path, data=body, headers=headers)
        route = time.process_time() - t
        with app.app_context():
            from portal.suppression.cache import index
            t = time.process_time()
            for body in bodies: index()
            sync = time.process_time() - t
            idx = index()
            t = time.process_time()
            for body in bodies: idx.check(json.loads(body)["emails"], account)
            check = time.process_time() - t
            from portal import api
            t = time.process_time()
            for body in bodies: api.authenticate("Bearer " + key, api.BOTH)
            auth = time.process_time() - t
        t = time.process_time()
        for body in bodies: client.get("/healthz")
        hz = time.process_time() - t
        print(f"per call ms: route {route/20*1000:.1f} sync {sync/20*1000:.1f} check {check/20*1000:.1f} auth {auth/20*1000:.1f} healthz {hz/20*1000:.1f}")
    with app.app_context():
        from portal.extensions import db; db.engine.dispose()
