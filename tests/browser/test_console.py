"""The compliance console in Debian's Chromium: sign-in with TOTP, the queue, an account page with
its chart and samples, a decision (refused without a note, then recorded), the accounts list
filtered and refused; axe-core on every console page and state; a screenshot of each, written to
test-artifacts/screenshots/ (phone and desktop)."""
from __future__ import annotations

import pyotp
import pytest

from portal.complaints import operations as complaints
from portal.extensions import db
from portal.ops import operations as operators
from tests.browser.conftest import assert_fits_width, screenshot, serious_violations
from tests.complaints.support import list_unsubscribe_for, rewrite

pytestmark = pytest.mark.browser
PASSWORD = "a long and secret passphrase"


@pytest.fixture
def console(app, live_server, create_account, create_contact, create_deliveries, create_list):
    """A console with CSRF on, an operator, and an account under review with samples and a flag."""
    app.config["WTF_CSRF_ENABLED"] = True
    _operator, secret = operators.create_operator("ana", PASSWORD)
    account = create_account(name="Toko Bunga Melati")
    mailing_list = create_list(account, name="Promo Mingguan")
    from datetime import timedelta

    from portal.db import utcnow

    for days_ago in range(1, 15):  # two weeks of sending, with a complaint every other day
        create_deliveries(account, 150 + 20 * (days_ago % 4), at=utcnow() - timedelta(days=days_ago, hours=2))
        if days_ago % 2:
            earlier, _ = complaints.file_complaint(create_contact(account), category="not_requested",
                                                   source="web", ledger_source="test")
            earlier.created_at = utcnow() - timedelta(days=days_ago, hours=1)
    create_deliveries(account, 1000)
    contact = create_contact(account)
    raw = rewrite("01", to=contact.email, list_unsubscribe=list_unsubscribe_for(contact, mailing_list))
    complaints.ingest_report(raw.replace(b"Subject: Nyaaaaaaaan", b"Subject: <b>Diskon</b> <script>alert(1)</script>"))
    for _ in range(2):
        complaints.file_complaint(create_contact(account), category="not_requested", source="web",
                                  ledger_source="test", text="Saya tidak pernah mendaftar <i>di sini</i>")
    from portal.screening.operations import screen

    screen(account, None, "Main judi online, slot gacor setiap hari", {"Subject": "Bonus besar"})
    db.session.commit()
    return live_server, account, secret


def check_console_page(page, name: str, heading: str) -> None:
    """What every console page must do: its language, one h1, fit the width, no serious axe violation."""
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en", name
    assert page.locator("h1").count() == 1 and heading in page.locator("h1").inner_text(), name
    assert_fits_width(page)
    assert serious_violations(page) == [], name
    assert screenshot(page, name).stat().st_size > 0, name


def sign_in(page, server, secret: str) -> None:
    page.goto(f"{server.url}/ops/")
    assert page.url.endswith("/ops/signin")
    check_console_page(page, "ops-signin", "Sign in to the compliance console")
    page.get_by_label("User name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/ops/")


def test_console_sign_in_queue_account_decision(page, console):
    server, account, secret = console
    page.goto(f"{server.url}/ops/signin")
    page.get_by_label("User name").fill("ana")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    assert "The user name, password or code is not right." in page.locator("main").inner_text()
    check_console_page(page, "ops-signin-refused", "Sign in")

    sign_in(page, server, secret)
    check_console_page(page, "ops-queue", "Open reviews, oldest first")
    assert "Toko Bunga Melati" in page.locator("table").inner_text()

    page.get_by_role("link", name="Toko Bunga Melati").click()
    page.wait_for_url(f"**/ops/accounts/{account.id}")
    chart = page.locator("figure.chart svg")
    assert chart.is_visible() and chart.locator("polyline.rate").count() == 1
    assert chart.locator("line.limit").count() == 3
    main = page.locator("main").inner_text()
    assert "<b>Diskon</b> <script>alert(1)</script>" in main  # shown as text, never as markup
    assert page.locator("main script, main b").count() == 0
    assert "Saya tidak pernah mendaftar <i>di sini</i>" in main
    headers = page.locator("dl.headers").first.inner_text()
    for name in ("List-Unsubscribe", "DKIM-Signature", "Authentication-Results"):
        assert name in headers
    assert "judi online" in main
    check_console_page(page, "ops-account", "Toko Bunga Melati")

    # a note of spaces passes the browser's own check but not the server's: refused, 422, nothing changed
    page.get_by_label("Warn again (the account may send; the review closes)").check()
    page.get_by_label("Note (why: kept with the decision)").fill("   ")
    with page.expect_response(lambda response: response.url.endswith("/decision")) as refused:
        page.get_by_role("button", name="Record the decision").click()
    assert refused.value.status == 422
    assert "A decision needs a note." in page.locator("main").inner_text()
    check_console_page(page, "ops-account-decision-refused", "Toko Bunga Melati")
    db.session.refresh(account)
    assert account.status == "suspended"

    page.get_by_label("Warn again (the account may send; the review closes)").check()
    page.get_by_label("Note (why: kept with the decision)").fill("Complaints from a list bought in 2025.")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    assert "Decision recorded: the account is now warned." in page.locator("main").inner_text()
    assert "operator:ana" in page.locator("main").inner_text()
    check_console_page(page, "ops-account-decided", "Toko Bunga Melati")
    db.session.refresh(account)
    assert account.status == "warned" and "This account has no open review." in page.locator("main").inner_text()

    page.get_by_role("link", name="Accounts").click()
    check_console_page(page, "ops-accounts", "Accounts by complaint rate")
    page.get_by_label("Status").select_option("warned")
    page.get_by_label("Lowest rate (%)").fill("0.1")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/ops/accounts?status=warned&min_rate=0.1&sort=rate")
    assert "Toko Bunga Melati" in page.locator("table").inner_text()
    check_console_page(page, "ops-accounts-filtered", "Accounts by complaint rate")
    with page.expect_response(lambda response: "/ops/accounts?" in response.url) as refused:
        page.goto(f"{server.url}/ops/accounts?page=0&min_rate=much")
    assert refused.value.status == 400
    assert "Page: Number must be at least 1." in page.locator("main").inner_text()
    check_console_page(page, "ops-accounts-refused", "Accounts by complaint rate")
    page.get_by_role("link", name="Flagged messages").click()
    check_console_page(page, "ops-flagged", "Flagged messages")
    assert "slot gacor" in page.locator("main").inner_text()

    page.get_by_role("button", name="Sign out ana").click()
    page.wait_for_url("**/ops/signin")
    page.goto(f"{server.url}/ops/accounts")
    assert page.url.endswith("/ops/signin")
