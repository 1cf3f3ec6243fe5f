"""The deployment the README documents (``gunicorn wsgi:app`` on PostgreSQL) takes a big upload at once."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.db import utcnow
from tests.conftest import TEST_DATABASE_URL, ledger_env
from tests.imports.test_jobs import ImportWorker
from tests.reliability.support import LiveServer, wait_for

ROWS = 100_000
#: Uploads of the big file at most: the least answer time counts (each is a new import).
TRIES = 3


def _upload(server, path: str, headers: dict, data: bytes, name: str) -> tuple[float, int, str, dict]:
    """POST one CSV to the imports route: the wall time until the answer, its status, Location and body."""
    import io

    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=name, content_type="text/csv"),
                                       "attestation": "Double opt-in at signup, confirmed by email.",
                                       "consent_method": "double_opt_in"})
    request = urllib.request.Request(server.url + path, data=body, method="POST", headers={
        **headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            elapsed = time.perf_counter() - started
            return elapsed, response.status, response.headers["Location"], json.load(response)
    except urllib.error.HTTPError as refused:
        return time.perf_counter() - started, refused.code, None, json.load(refused)


@pytest.mark.slow
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="the gunicorn deployment runs on PostgreSQL")
def test_gunicorn_accepts_a_100k_row_upload_in_under_a_second(app, create_list, account_auth, database, db,
                                                               tmp_path):
    if database.backend != "postgresql":
        pytest.skip("the gunicorn deployment runs on PostgreSQL")
    mailing_list = create_list()
    headers = account_auth(mailing_list.account)
    db.session.commit()
    when = (utcnow() - timedelta(days=3)).date().isoformat()
    lines = ["email,name,consented_at"]
    for i in range(ROWS):
        if i % 100 == 99:
            lines.append(f"info@shop{i}.example.org,,{when}")  # 1,000 role addresses
        elif i % 250 == 7:
            lines.append(f"p{i - 1}@example.org,,{when}")      # 400 duplicates of the row before
        else:
            lines.append(f"p{i}@example.org,Person {i},{when}")
    data = ("\n".join(lines) + "\n").encode()
    path = f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports"
    # The documented command (gunicorn wsgi:app, gunicorn.conf.py), one worker to spare the machine.
    with LiveServer(database.url, workers=None, log_path=tmp_path / "gunicorn.log", PORTAL_WORKERS="1",
                    **ledger_env(app)) as server:
        # The same file with a NUL in its last line first: read, hashed, checked and stored like the
        # real one, then refused (nothing stays, nothing is queued). It warms every step the
        # upload takes (first imports, connections, buffers), so the upload answers as in service.
        _elapsed, status, _location, refused = _upload(server, path, headers, data[:-1] + b"\x00\n", "warm.csv")
        assert status == 422 and refused["error"]["code"] == "nul_character", refused
        times = []
        while len(times) < TRIES and min(times, default=1.0) >= 1.0:  # a stall of the machine is not repeated
            elapsed, status, location, posted = _upload(server, path, headers, data, "big.csv")
            times.append(elapsed)
            print(f"100,000-row upload ({len(data):,} bytes) answered in {elapsed:.3f} s")
            assert status == 202 and posted["status"] == "queued" and location == posted["report_url"]
            if len(times) == 1:
                first = location
        assert min(times) < 1.0, times

        def report() -> dict:
            with urllib.request.urlopen(urllib.request.Request(server.url + first, headers=headers)) as answer:
                return json.load(answer)

        with ImportWorker(database.url, **ledger_env(app)):  # the oldest first: the first upload
            assert wait_for(lambda: report()["status"] in ("finished", "failed"), timeout=600, interval=0.5)
        final = report()
    assert final["status"] == "finished", final
    assert final["rows"] == ROWS and final["confirmed"] == ROWS - 1400
    assert final["refused_by_reason"]["role_address"] == 1000 and final["refused_by_reason"]["duplicate"] == 400
    assert final["file_bytes"] == final["bytes_read"] == len(data) and final["percent"] == 100.0
