"""gunicorn workers load the suppression index as they start (gunicorn.conf.py), not on a lookup."""
import urllib.request

from portal.suppression import operations
from tests.conftest import ledger_env
from tests.reliability.support import STARTUP_SECONDS, LiveServer, wait_for


def _suppress_three(db):
    for n in range(3):
        operations.add(f"w{n}@x.org", scope="global", reason="manual")
    db.session.commit()


def test_a_worker_loads_the_index_as_it_starts(app, db, tmp_path):
    _suppress_three(db)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    log = tmp_path / "gunicorn.log"
    with LiveServer(url, log_level="info", log_path=log, **ledger_env(app)):  # it waits for /healthz only: no lookup
        assert wait_for(lambda: "suppression index loaded: 3 addresses" in log.read_text(), timeout=STARTUP_SECONDS)


def test_warming_can_be_turned_off(app, db, tmp_path, create_account, platform_auth):
    _suppress_three(db)
    account_id = create_account().id
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    log = tmp_path / "gunicorn.log"
    with LiveServer(url, log_level="info", log_path=log, PORTAL_WARM_INDEX="0", **ledger_env(app)) as server:
        lookup = urllib.request.Request(f"{server.url}/api/v1/accounts/{account_id}/suppressions/w1@x.org",
                                        headers=platform_auth)
        with urllib.request.urlopen(lookup, timeout=60) as response:
            assert b'"suppressed":true' in response.read()  # loaded by the lookup itself
    assert "Booting worker" in log.read_text() and "suppression index loaded" not in log.read_text()
