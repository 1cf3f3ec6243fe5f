"""The deployment the README documents (``gunicorn wsgi:app`` on PostgreSQL) takes a big upload at once."""
from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.db import utcnow
from tests.conftest import TEST_DATABASE_URL
from tests.imports.test_jobs import ImportWorker
from tests.reliability.support import LiveServer, wait_for

ROWS = 100_000


@pytest.mark.slow
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="the gunicorn deployment runs on PostgreSQL")
def test_gunicorn_accepts_a_100k_row_upload_in_under_a_second(create_list, account_auth, database, db, tmp_path):
    import io

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
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename="big.csv",
                                                           content_type="text/csv"),
                                       "attestation": "Double opt-in at signup, confirmed by email.",
                                       "consent_method": "double_opt_in"})
    url = f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports"
    with LiveServer(database.url, log_path=tmp_path / "gunicorn.log") as server:
        request = urllib.request.Request(server.url + url, data=body, method="POST", headers={
            **headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            elapsed = time.perf_counter() - started
            status, location, posted = response.status, response.headers["Location"], json.load(response)
        print(f"100,000-row upload ({len(data):,} bytes) answered in {elapsed:.3f} s")
        assert status == 202 and posted["status"] == "queued" and location == posted["report_url"]
        assert elapsed < 1.0, elapsed

        def report() -> dict:
            with urllib.request.urlopen(urllib.request.Request(server.url + location, headers=headers)) as answer:
                return json.load(answer)

        with ImportWorker(database.url):
            assert wait_for(lambda: report()["status"] in ("finished", "failed"), timeout=600, interval=0.5)
        final = report()
    assert final["status"] == "finished", final
    assert final["rows"] == ROWS and final["confirmed"] == ROWS - 1400
    assert final["refused_by_reason"]["role_address"] == 1000 and final["refused_by_reason"]["duplicate"] == 400
    assert final["file_bytes"] == final["bytes_read"] == len(data) and final["percent"] == 100.0
