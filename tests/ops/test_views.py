"""The compliance console: sign-in, every page behind it, the queue, the account page, decisions."""
import logging

import pytest
from sqlalchemy import select

from portal.complaints import operations as complaints
from portal.complaints import policy
from portal.complaints.models import ReviewCase
from portal.ops.models import Operator
from tests.complaints.support import rewrite
from tests.conftest import REDIS_PREFIX
from tests.ops.conftest import sign_in

PAGES = ["/ops/", "/ops/accounts", "/ops/flagged"]


def complain(db, create_contact, account, n=1, category="not_requested", ref=None):
    for i in range(n):
        complaints.file_complaint(create_contact(account), category=category, source="web", ledger_source="test",
                                  message_ref=ref or f"<m{i}@shop.test>", text="I never signed up <b>here</b>")
    db.session.commit()
    db.session.refresh(account)


@pytest.mark.parametrize("path", PAGES + ["/ops/accounts/abc"])
def test_every_console_page_needs_a_signed_in_operator(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/ops/signin")


def test_a_post_without_a_session_changes_nothing(client, db, create_account, create_contact, caplog):
    account = create_account()
    complain(db, create_contact, account, 2)
    with caplog.at_level(logging.WARNING):
        response = client.post(f"/ops/accounts/{account.id}/decision", data={"decision": "reinstate", "note": "x"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/ops/signin")
    assert any("ops page refused without a session: POST" in r.getMessage() for r in caplog.records)
    db.session.refresh(account)
    assert account.status == "suspended"


def test_sign_in_with_password_and_totp(client, db, operator):
    page = client.get("/ops/signin")
    assert page.status_code == 200 and "Sign in to the compliance console" in page.get_data(as_text=True)
    response = sign_in(client, operator)
    assert response.status_code == 303 and response.headers["Location"].endswith("/ops/")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ops_session=") and "Path=/ops/" in cookie and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Secure" in cookie  # PORTAL_BASE_URL is https in the tests
    assert "Open reviews, oldest first" in client.get("/ops/").get_data(as_text=True)
    row = db.session.scalars(select(Operator)).one()
    assert row.last_signin_at is not None and row.totp_last_step is not None
    assert row.password_hash.startswith("$argon2id$")


def test_the_cookie_is_not_secure_over_plain_http(app, client, operator):
    app.config["PORTAL_BASE_URL"] = "http://127.0.0.1:5000"
    assert "Secure" not in sign_in(client, operator).headers["Set-Cookie"]


@pytest.mark.parametrize("field, value, reason", [
    ("password", "wrong password, long enough", "wrong password"),
    ("code", "000000", "wrong or reused TOTP code"),
    ("username", "bob", "no such operator")])
def test_a_wrong_password_or_code_is_refused_and_logged(client, operator, caplog, field, value, reason):
    if field == "code" and value == operator.code():
        value = "111111"
    with caplog.at_level(logging.WARNING):
        response = sign_in(client, operator, **{field: value})
    assert response.status_code == 401
    assert "The user name, password or code is not right." in response.get_data(as_text=True)
    assert any(f"reason={reason}" in record.getMessage() for record in caplog.records)
    assert client.get("/ops/").status_code == 302


def test_a_totp_code_signs_in_once(app, operator):
    first, second = app.test_client(), app.test_client()
    code = operator.code()  # once: a second code taken later could fall in the next time step
    assert sign_in(first, operator, code=code).status_code == 303
    assert sign_in(second, operator, code=code).status_code == 401  # the same code again: a replay


def operator_row(db) -> tuple:
    """What a sign-in may change on the operator: hash, last TOTP step, last sign-in."""
    db.session.expire_all()
    row = db.session.scalars(select(Operator)).one()
    return row.password_hash, row.totp_last_step, row.last_signin_at


@pytest.mark.parametrize("overrides, reason", [
    ({"code": "12345"}, "invalid form (code)"),
    ({"code": "12345a"}, "invalid form (code)"),
    ({"code": None}, "invalid form (code)"),
    ({"password": None}, "invalid form (password)"),
    ({"password": "", "code": None}, "invalid form (password, code)"),
    ({"username": None}, "invalid form (username)"),
    ({"password": "wrong password, long enough"}, "wrong password"),
    ({"username": "bob"}, "no such operator"),
    ({"code": "wrong"}, "wrong or reused TOTP code")])
def test_every_failed_sign_in_is_logged_without_its_secrets_and_changes_nothing(
        client, db, operator, caplog, overrides, reason):
    form = {"username": operator.username, "password": operator.password, "code": operator.code()}
    if overrides.get("code") == "wrong":
        overrides = {"code": "111111" if form["code"] != "111111" else "222222"}
    form.update(overrides)
    before = operator_row(db)
    with caplog.at_level(logging.INFO):
        response = client.post("/ops/signin", data={k: v for k, v in form.items() if v is not None})
    assert response.status_code == 401
    assert "Sign in to the compliance console" in response.get_data(as_text=True)
    lines = [r.getMessage() for r in caplog.records if "ops sign-in refused" in r.getMessage()]
    assert len(lines) == 1 and f"reason={reason}" in lines[0] and "ip=" in lines[0], lines
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (operator.password, form["password"], operator.code(), form["code"]):
        assert not secret or secret not in logged
    assert operator_row(db) == before and client.get("/ops/").status_code == 302


def test_failed_sign_ins_are_rate_limited(second_app, operator, redis_url, caplog):
    import redis

    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter(f"*{REDIS_PREFIX}*ops.signin*"):  # this session's, from the other backend's run
        store.delete(key)
    limited = second_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url, PORTAL_OPS_SIGNIN_LIMIT="2 per hour")
    client = limited.test_client()
    with caplog.at_level(logging.WARNING):
        codes = [sign_in(client, operator, password="wrong password, long enough").status_code for _ in range(2)]
    assert codes == [401, 401] and len([r for r in caplog.records if "sign-in refused" in r.getMessage()]) == 2
    response = sign_in(client, operator)  # even the right password and code now wait
    assert response.status_code == 429 and "wait a little and try again" in response.get_data(as_text=True)
    # another client (IP) with the same user name is limited by the name too
    other = limited.test_client()
    response = other.post("/ops/signin", data={"username": "ANA", "password": "x", "code": "123456"},
                          environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert response.status_code == 429
    assert list(store.scan_iter(f"*{REDIS_PREFIX}*ops.signin*"))  # counted in this session's namespace


def test_a_post_without_csrf_token_is_refused(app, ops_client, db, create_account, create_contact, caplog):
    account = create_account()
    complain(db, create_contact, account, 2)
    app.config["WTF_CSRF_ENABLED"] = True
    with caplog.at_level(logging.WARNING):
        response = ops_client.post(f"/ops/accounts/{account.id}/decision",
                                   data={"decision": "reinstate", "note": "ok"})
    assert any("ops request refused" in r.getMessage() and "CSRF token is missing" in r.getMessage()
               for r in caplog.records)
    assert response.status_code == 400 and "reload the page and try again" in response.get_data(as_text=True)
    db.session.refresh(account)
    assert account.status == "suspended" and policy.open_review(account) is not None


def test_the_signin_form_needs_its_csrf_token(app, client, db, operator, caplog):
    app.config["WTF_CSRF_ENABLED"] = True
    before = operator_row(db)
    with caplog.at_level(logging.WARNING):
        response = sign_in(client, operator)
    assert response.status_code == 400 and "reload the page and try again" in response.get_data(as_text=True)
    [line] = [r.getMessage() for r in caplog.records if "ops request refused" in r.getMessage()]
    assert "POST /ops/signin" in line and "CSRF token is missing" in line and operator.password not in line
    assert operator_row(db) == before  # the code was not spent: the TOTP step is untouched
    assert before[1] is None and client.get("/ops/").status_code == 302


def test_the_queue_lists_open_reviews_oldest_first(ops_client, db, create_account, create_contact):
    older, newer, calm = create_account(name="Older Shop"), create_account(name="Newer Shop"), create_account(name="Calm")
    complain(db, create_contact, older, 2)
    complain(db, create_contact, newer, 2)
    page = ops_client.get("/ops/").get_data(as_text=True)
    assert "2 open reviews" in page and page.index("Older Shop") < page.index("Newer Shop")
    assert "Calm" not in page


def test_accounts_by_status_and_rate(ops_client, db, create_account, create_contact, create_deliveries):
    low, high, warned = create_account(name="Low Rate"), create_account(name="High Rate"), create_account(name="Warned")
    create_deliveries(low, 2000)
    create_deliveries(high, 1000)
    complain(db, create_contact, low, 1)
    complain(db, create_contact, high, 2)
    complain(db, create_contact, warned, 1)
    page = ops_client.get("/ops/accounts").get_data(as_text=True)
    assert page.index("High Rate") < page.index("Low Rate")
    assert "0.20%" in page and "0.05%" in page
    page = ops_client.get("/ops/accounts?status=warned").get_data(as_text=True)
    assert "Warned" in page and "High Rate" in page and "Low Rate" not in page


def test_the_account_page_shows_history_chart_complaints_and_escaped_samples(
        ops_client, db, create_account, create_contact, create_deliveries):
    account = create_account(name="Sample Shop")
    create_deliveries(account, 400)
    contact = create_contact(account, email="someone@example.net")
    raw = rewrite("01", to=contact.email)
    complaints.ingest_report(raw.replace(b"Subject: Nyaaaaaaaan", b"Subject: <script>alert(1)</script>"))
    db.session.commit()
    complain(db, create_contact, account, 1)
    page = ops_client.get(f"/ops/accounts/{account.id}").get_data(as_text=True)
    assert "<svg" in page and "Daily complaint rate, last 30 days" in page and "<polyline" in page
    assert "active → warned" in page and "complaint" in page
    assert "I never signed up &lt;b&gt;here&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    for header in ("List-Unsubscribe", "DKIM-Signature", "Authentication-Results", "Message-ID"):
        assert f"<dt>{header}" in page
    assert "This account has no open review." not in page  # the FBL complaint, then one more: suspended
    assert "Report " in page and "abuse" in page


def test_a_decision_needs_a_note(ops_client, db, create_account, create_contact, caplog):
    account = create_account()
    complain(db, create_contact, account, 2)
    with caplog.at_level(logging.WARNING):
        response = ops_client.post(f"/ops/accounts/{account.id}/decision",
                                   data={"decision": "reinstate", "note": "  "})
    assert response.status_code == 422 and "A decision needs a note." in response.get_data(as_text=True)
    assert any("ops decision refused" in r.getMessage() and "note" in r.getMessage() for r in caplog.records)
    db.session.refresh(account)
    assert account.status == "suspended"


def test_a_decision_without_an_open_review_is_refused(ops_client, db, create_account, caplog):
    account = create_account()
    with caplog.at_level(logging.WARNING):
        response = ops_client.post(f"/ops/accounts/{account.id}/decision", data={"decision": "deactivate", "note": "x"})
    assert response.status_code == 409 and "This account has no open review." in response.get_data(as_text=True)
    assert any("ops decision refused" in record.getMessage() for record in caplog.records)
    db.session.refresh(account)
    assert account.status == "active" and account.status_changes == []


def test_a_decision_is_recorded_with_the_operator(ops_client, db, create_account, create_contact):
    account = create_account()
    complain(db, create_contact, account, 2)
    response = ops_client.post(f"/ops/accounts/{account.id}/decision",
                               data={"decision": "deactivate", "note": "bought list, no consent shown"})
    assert response.status_code == 303
    page = ops_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Decision recorded: the account is now deactivated." in page
    db.session.refresh(account)
    change = account.status_changes[-1]
    assert (account.status, change.actor, change.reason) == ("deactivated", "operator:ana", "review:deactivate")
    assert change.evidence["note"] == "bought list, no consent shown"
    review = db.session.scalars(select(ReviewCase)).one()
    assert (review.status, review.actor) == ("closed", "operator:ana")


def test_flagged_messages_are_listed(ops_client, client, db, create_account, platform_auth):
    account = create_account(name="Casino Shop")
    client.post(f"/api/v1/accounts/{account.id}/messages/check", headers=platform_auth,
                json={"text": "Main <i>judi online</i> sekarang", "headers": {"Subject": "Bonus"}})
    page = ops_client.get("/ops/flagged").get_data(as_text=True)
    assert "Casino Shop" in page and "gambling" in page and "judi online" in page
    assert "Main &lt;i&gt;judi online&lt;/i&gt; sekarang" in page


def test_sign_out_ends_the_session(ops_client):
    assert ops_client.post("/ops/signout").status_code == 303
    assert ops_client.get("/ops/").status_code == 302


def test_a_session_runs_out(app, ops_client):
    app.config["PORTAL_OPS_SESSION_HOURS"] = 0
    assert ops_client.get("/ops/").status_code == 302
