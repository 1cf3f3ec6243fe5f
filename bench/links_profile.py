"""Where an unsubscribe-links call's time goes, in process: CPU seconds per call of 10,000 recipients.

    .venv/bin/python bench/links_profile.py       # PostgreSQL scratch database

Times (``time.process_time``) calls for new and for existing contacts through Flask's test client,
then prints cProfile's top functions of each kind of call.
"""
import cProfile, os, pstats, sys, tempfile, time
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, os.path.dirname(HERE)); sys.path.insert(0, HERE)
os.chdir(os.path.dirname(HERE))
import suppression_harness as harness
from unsubscribe_links import _body
PROFILE = os.path.join(tempfile.mkdtemp(prefix="links-profile-"), "calls.prof")
with harness.scratch_database("postgresql://postgres@127.0.0.1:5432/postgres") as url:
    account, list_id, key = harness.setup_account(url)
    os.environ.update(DATABASE_URL=url, SECRET_KEY="bench", PORTAL_BASE_URL="https://portal.example", PORTAL_UNSUBSCRIBE_MAIL_DOMAIN="unsub.portal.example")
    from portal import create_app
    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    path = f"/api/v1/accounts/{account}/unsubscribe-links"
    client.post(path, data=_body(list_id, 0), headers=headers)
    for run in range(1, 3):
        t = time.process_time(); w = time.perf_counter(); r = client.post(path, data=_body(list_id, run), headers=headers); assert r.status_code == 200
        print(f"new: cpu {time.process_time()-t:.2f} s wall {time.perf_counter()-w:.2f}")
        t = time.process_time(); w = time.perf_counter(); r = client.post(path, data=_body(list_id, 0), headers=headers)
        print(f"existing: cpu {time.process_time()-t:.2f} s wall {time.perf_counter()-w:.2f}")
    cProfile.run("client.post(path, data=_body(list_id, 0), headers=headers)", PROFILE)
    pstats.Stats(PROFILE).sort_stats("tottime").print_stats(22)
    cProfile.run("client.post(path, data=_body(list_id, 9), headers=headers)", PROFILE)
    pstats.Stats(PROFILE).sort_stats("tottime").print_stats(12)
    with app.app_context():
        from portal.extensions import db; db.engine.dispose()
