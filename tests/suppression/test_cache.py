"""The in-process index behind bulk checks: its hash shortcut and its catching up with the feed."""
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from portal.addresses import email_hash, normalise
from portal.extensions import db
from portal.suppression import operations
from portal.suppression.cache import SuppressionIndex, address_digest, digests


@pytest.mark.parametrize("address", ["Ann@Example.COM", "  bob.smith+tag@x.org ", "UPPER@CASE.ORG",
                                     "ann@bücher.de", "Jörg@Bücher.DE"])
def test_digest_equals_the_hash_of_the_normalised_address(address):
    assert address_digest(address).hex() == email_hash(normalise(address))


def test_invalid_non_ascii_address_has_no_digest():
    assert address_digest("no at sign ü") is None


def test_index_loads_the_table_then_follows_the_feed(app, create_account):
    account = create_account()
    operations.add("a@x.org", scope="account", reason="manual", account_id=account.id)
    operations.add("a@x.org", scope="global", reason="complaint")
    db.session.commit()
    index = SuppressionIndex()
    index.sync()
    assert [p for p, _e in index.check(["a@x.org", "b@x.org"], "other")] == [0]
    operations.remove(operations.find("a@x.org", scope="global"), note="lifted")
    operations.add("b@x.org", scope="account", reason="manual", account_id=account.id)
    db.session.commit()
    index.sync()
    assert index.check(["a@x.org", "b@x.org"], "other") == []
    assert [p for p, _e in index.check(["a@x.org", "b@x.org"], account.id)] == [0, 1]
    index.sync()  # replaying what it already applied changes nothing
    [(_position, entries)] = index.check(["A@X.ORG"], account.id)
    assert [(e[0], e[3]) for e in entries] == [("account", "manual")]


def test_a_caller_skips_its_catch_up_only_when_one_sent_after_it_arrived_has_completed(app, create_account):
    account = create_account()
    db.session.commit()
    index = SuppressionIndex()
    index.sync()
    operations.add("late@x.org", scope="account", reason="manual", account_id=account.id)
    db.session.commit()
    # A catch-up sent after this caller arrived has (by construction here) completed: nothing to do.
    index.synced_from = time.monotonic_ns() + 60 * 10**9
    index.sync()
    assert index.check(["late@x.org"], account.id) == []
    # The last catch-up was sent before this caller arrived: it must send its own.
    index.synced_from = time.monotonic_ns() - 1
    index.sync()
    assert [p for p, _e in index.check(["late@x.org"], account.id)] == [0]
    index.close()


def test_concurrent_lookups_share_catch_ups_and_all_see_an_earlier_commit(app, client, create_account, platform_auth):
    account = create_account()
    db.session.commit()
    url = f"/api/v1/accounts/{account.id}/suppressions/"
    assert client.get(url + "first@x.org", headers=platform_auth).status_code == 200
    operations.add("seen@x.org", scope="account", reason="manual", account_id=account.id)
    db.session.commit()
    index = app.extensions["suppression_index"]
    sent, original = [], index._feed_rows
    index._feed_rows = lambda: sent.append(1) or original()
    answers = []

    def look() -> None:
        with app.test_client() as own:
            for _ in range(10):
                answers.append(own.get(url + "seen@x.org", headers=platform_auth).json["suppressed"])

    threads = [threading.Thread(target=look) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 60
    assert 1 <= len(sent) <= 60


def _index_ready(client, account, auth) -> SuppressionIndex:
    assert client.get(f"/api/v1/accounts/{account.id}/suppressions/a@x.org", headers=auth).status_code == 200
    return client.application.extensions["suppression_index"]


def test_a_dropped_index_connection_is_replaced_without_a_failed_request(app, client, create_account,
                                                                          platform_auth):
    account = create_account()
    db.session.commit()
    index = _index_ready(client, account, platform_auth)
    index.connection.connection.dbapi_connection.close()  # gone underneath, as after a restart
    operations.add("after@x.org", scope="account", reason="manual", account_id=account.id)
    db.session.commit()
    answer = client.get(f"/api/v1/accounts/{account.id}/suppressions/after@x.org", headers=platform_auth)
    assert answer.status_code == 200 and answer.json["suppressed"] is True


def test_a_server_side_disconnect_is_survived(app, client, create_account, platform_auth, backend):
    """PostgreSQL ends the index's session (as a restart does): the next lookup still answers."""
    if backend != "postgresql":
        pytest.skip("needs a server that can end a session")
    account = create_account()
    db.session.commit()
    index = _index_ready(client, account, platform_auth)
    pid = index.connection.connection.dbapi_connection.info.backend_pid
    db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()
    answer = client.get(f"/api/v1/accounts/{account.id}/suppressions/b@x.org", headers=platform_auth)
    assert answer.status_code == 200 and answer.json["suppressed"] is False
    assert index.connection.connection.dbapi_connection.info.backend_pid != pid


ADDRESS_CHARACTERS = "aAzZ09.@+-_ \t\x0b\x0c\r\x1c\x1d\x1e\x1f\nüÖ"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=ADDRESS_CHARACTERS, max_size=12), min_size=9, max_size=30))
def test_a_batch_hashes_each_address_as_one_alone_does(addresses):
    assert digests(addresses) == [address_digest(address) for address in addresses]


def test_a_batch_of_plain_addresses_hashes_as_one_alone_does():
    addresses = [f" User{n}@Example.ORG\t" if n % 3 else f"user{n}@x.org" for n in range(50)] + ["x\x1c@y.org"]
    assert digests(addresses) == [address_digest(address) for address in addresses]
    assert digests(addresses + [None, 5]) == [address_digest(a) for a in addresses] + [None, None]
