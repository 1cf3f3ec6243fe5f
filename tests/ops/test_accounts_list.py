"""The console's accounts list: rates counted, sorted and filtered in the database, in pages that
reach every account."""
import re
from datetime import timedelta

import pytest

from portal.accounts import operations as accounts
from portal.complaints import operations as complaints
from portal.db import utcnow
from portal.ops import listing

ROW = re.compile(r'<tr><td><a href="/ops/accounts/(\w+)">([^<]+)</a></td>')


def complain(db, create_contact, account, n):
    for i in range(n):
        complaints.file_complaint(create_contact(account), category="not_requested", source="web",
                                  ledger_source="test", message_ref=f"<m{i}@shop.test>")
    db.session.commit()


def quiet_accounts(db, n):
    """``n`` accounts that have sent nothing, created now (newer than any other of the test)."""
    made = [accounts.create_account(name=f"Quiet {i:03d}", postal_address="Jl. 1", contact_email=f"q{i}@x.example")
            for i in range(n)]
    db.session.commit()
    return made


def names(page: str) -> list[str]:
    return [name for _id, name in ROW.findall(page)]


@pytest.fixture
def senders(db, create_account, create_contact, create_deliveries):
    """An old big sender at 0.5% (warned), a big one at 0.05% (active), a small sender at 1
    complaint over 2 delivered (warned) and one with 2 complaints and nothing delivered
    (suspended); all created before the quiet accounts of a test."""
    old = create_account(name="Old Abuser")
    create_deliveries(old, 1000)
    complain(db, create_contact, old, 5)
    old.created_at = utcnow() - timedelta(days=400)
    middling = create_account(name="Middling")
    create_deliveries(middling, 2000)
    complain(db, create_contact, middling, 1)
    tiny = create_account(name="Tiny Sender")
    create_deliveries(tiny, 2)
    complain(db, create_contact, tiny, 1)
    suspended = create_account(name="Suspended Small")
    complain(db, create_contact, suspended, 2)
    db.session.commit()
    assert [a.status for a in (old, middling, tiny, suspended)] == ["warned", "active", "warned", "suspended"]
    return old, middling, tiny, suspended


def test_every_account_is_reached_and_the_highest_rate_comes_first(ops_client, db, senders):
    quiet = quiet_accounts(db, 2 * listing.PAGE_SIZE + 7)
    first = ops_client.get("/ops/accounts").get_data(as_text=True)
    total = len(quiet) + 4
    assert f"{total} accounts" in first and "page 1 of 3" in first
    # rates above the volume floor first, highest first; then the small senders, by rate, then complaints
    assert names(first)[:4] == ["Old Abuser", "Middling", "Tiny Sender", "Suspended Small"]
    assert "0.50%" in first and "0.05%" in first and "50.00%" in first
    seen = []
    for number in (1, 2, 3):
        seen += names(ops_client.get(f"/ops/accounts?page={number}").get_data(as_text=True))
    assert len(seen) == total and sorted(seen) == sorted([a.name for a in senders] + [a.name for a in quiet])
    last = ops_client.get("/ops/accounts?page=3").get_data(as_text=True)
    assert 'rel="prev"' in last and 'rel="next"' not in last and 'rel="next"' in first


def test_the_list_is_filtered_by_status_and_rate_and_sorted(ops_client, db, senders):
    quiet_accounts(db, 3)
    for status, listed in (("warned", ["Old Abuser", "Tiny Sender"]), ("active", ["Middling", "Quiet 000",
                                                                                  "Quiet 001", "Quiet 002"]),
                           ("suspended", ["Suspended Small"]), ("deactivated", [])):
        assert names(ops_client.get(f"/ops/accounts?status={status}").get_data(as_text=True)) == listed
    assert "1 account, page 1 of 1" in ops_client.get("/ops/accounts?status=suspended").get_data(as_text=True)
    page = ops_client.get("/ops/accounts?min_rate=0.3").get_data(as_text=True)
    assert names(page) == ["Old Abuser", "Tiny Sender"]  # 0.5% and 50%; not 0.05%, nor 2 over nothing
    page = ops_client.get("/ops/accounts?min_rate=0.01&status=active").get_data(as_text=True)
    assert names(page) == ["Middling"]
    page = ops_client.get("/ops/accounts?min_rate=0.3&status=active").get_data(as_text=True)
    assert names(page) == [] and "No account matches." in page
    page = ops_client.get("/ops/accounts?sort=complaints").get_data(as_text=True)
    assert names(page)[:4] == ["Old Abuser", "Suspended Small", "Tiny Sender", "Middling"]
    page = ops_client.get("/ops/accounts?sort=name").get_data(as_text=True)
    assert names(page) == sorted(names(page)) and len(names(page)) == 7


@pytest.mark.parametrize("query, reason", [
    ("page=0", "Page: Number must be at least 1."),
    ("page=two", "Page: Not a valid integer value."),
    ("min_rate=-1", "Lowest rate (%): Number must be between 0 and 100."),
    ("min_rate=lots", "Lowest rate (%): Not a valid decimal value."),
    ("sort=worst", "Sort by: Not a valid choice."),
    ("status=banned", "Status: Not a valid choice.")])
def test_a_bad_filter_is_refused_with_its_reason(ops_client, db, senders, query, reason):
    response = ops_client.get(f"/ops/accounts?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and reason in page and names(page) == []


def test_a_page_past_the_last_says_so(ops_client, db, senders):
    page = ops_client.get("/ops/accounts?page=9").get_data(as_text=True)
    assert names(page) == [] and "No account on this page." in page and 'href="/ops/accounts?page=1"' in page


def test_the_listed_figures_are_the_rates_of_the_account_page(app, db, senders):
    from portal.complaints import rates

    rows = {row.account.name: row for row in listing.accounts_page().rows}
    for account in senders:
        long = rates.current_rates(account.id)[1]
        row = rows[account.name]
        assert (row.complaints, row.delivered, row.judged) == (long.complaints, long.delivered, long.judged)
        assert row.rate == pytest.approx(long.rate)
