"""A corpus of hostile requests over the HTML routes and the API: each gets a clear 4xx (or
the documented uniform answer) and changes nothing (row counts of every table, before/after)."""
from __future__ import annotations

import statistics
import time

import pytest

from portal import links
from portal.outbox import worker
from portal.suppression import operations as suppression
from tests.conftest import other_app, outbox
from tests.reliability.support import row_counts
from tests.subscriptions.helpers import confirm_path, signup


@pytest.fixture
def world(app, client, create_form, create_subscription, platform_auth):
    """A form, a confirmed subscriber and their links, a pending signup's confirm link."""
    form = create_form()
    subscription = create_subscription(mailing_list=form.lists[0])
    signup(client, form, "pending@example.org")
    target = links.Target(subscription.contact_id, subscription.list_id, "<m1@x>")
    strip = lambda url: url.split("https://portal.test", 1)[1]  # noqa: E731
    return {
        "form": form.id, "account": form.account_id, "auth": platform_auth,
        "unsubscribe": strip(links.unsubscribe_url(target)), "preferences": strip(links.preferences_url(target)),
        "complaint": strip(links.complaint_url(target)), "confirm": confirm_path(outbox()[0]),
    }


def _tamper(path: str) -> str:
    """The path with one character of its token's signature changed."""
    last = path[-1]
    return path[:-1] + ("A" if last != "A" else "B")


def _swap(path: str, prefix: str) -> str:
    """The token of ``path`` under another route (a cross-purpose token)."""
    return prefix + path.rsplit("/", 1)[1]


def corpus(w: dict) -> list[tuple[str, str, str, dict, set[int]]]:
    """(name, method, path, client kwargs, accepted statuses)."""
    f, a, auth = w["form"], w["account"], w["auth"]
    deep = "[" * 8000 + "]" * 8000  # nested far past the JSON parser's depth, within the body limits
    return [
        ("signup: no email", "POST", f"/f/{f}", {"data": {}}, {422}),
        ("signup: CRLF header injection in email", "POST", f"/f/{f}",
         {"data": {"email": "ann@example.org\r\nBcc: evil@example.net"}}, {422}),
        ("signup: NUL in email", "POST", f"/f/{f}", {"data": {"email": "ann\x00@example.org"}}, {400, 422}),
        ("signup: NUL in name", "POST", f"/f/{f}", {"data": {"email": "nul@example.org", "name": "a\x00b"}}, {400}),
        ("signup: NUL in JSON name", "POST", f"/f/{f}", {"json": {"email": "nul@example.org", "name": "a\x00b"}}, {400}),
        ("signup: bad IDNA", "POST", f"/f/{f}", {"data": {"email": "ann@xn--"}}, {422}),
        ("signup: bidi override", "POST", f"/f/{f}", {"data": {"email": "ann\u202e@example.org"}}, {422}),
        ("signup: 10 kB address", "POST", f"/f/{f}", {"data": {"email": "a" * 10000 + "@example.org"}}, {422}),
        ("signup: deep JSON", "POST", f"/f/{f}", {"data": deep, "content_type": "application/json"}, {422}),
        ("signup: JSON not an object", "POST", f"/f/{f}", {"json": ["ann@example.org"]}, {422}),
        ("signup: wrong content type", "POST", f"/f/{f}", {"data": "<email>a@b.org</email>",
                                                          "content_type": "application/xml"}, {422}),
        ("signup: unknown form", "POST", "/f/nope", {"data": {"email": "ann@example.org"}}, {404}),
        ("signup: honeypot filled (uniform answer)", "POST", f"/f/{f}",
         {"data": {"email": "bot@example.org", "website": "http://spam"}}, {303}),
        ("confirm: tampered", "POST", _tamper(w["confirm"]), {}, {404}),
        ("confirm: garbage", "POST", "/confirm/%00%ff..", {}, {400, 404}),
        ("confirm: unsubscribe token", "POST", _swap(w["unsubscribe"], "/confirm/"), {}, {404}),
        ("unsubscribe: tampered", "POST", _tamper(w["unsubscribe"]), {}, {404}),
        ("unsubscribe: confirm token", "POST", _swap(w["confirm"], "/unsubscribe/"), {}, {404}),
        ("unsubscribe: preferences token", "POST", _swap(w["preferences"], "/unsubscribe/"), {}, {404}),
        ("unsubscribe: a GET changes nothing", "GET", w["unsubscribe"], {}, {200}),
        ("preferences: unsubscribe token", "POST", _swap(w["unsubscribe"], "/preferences/"), {}, {404}),
        ("complaint: tampered", "POST", _tamper(w["complaint"]), {"data": {"category": "other"}}, {404}),
        ("complaint: unsubscribe token", "POST", _swap(w["unsubscribe"], "/complaint/"),
         {"data": {"category": "other"}}, {404}),
        ("erase: preferences token", "POST", _swap(w["preferences"], "/erase/"), {}, {404}),
        ("data download: unsubscribe token", "POST", _swap(w["unsubscribe"], "/preferences/") + "/data", {}, {404}),
        ("header: NUL in User-Agent", "POST", w["unsubscribe"], {"headers": {"User-Agent": "x\x00y"}}, {400}),
        ("api: no key", "GET", f"/api/v1/accounts/{a}", {}, {401}),
        ("api: key in query string", "GET", f"/api/v1/accounts/{a}?api_key=x", {}, {401}),
        ("api: deep JSON", "POST", f"/api/v1/accounts/{a}/lists", {"data": deep, "content_type": "application/json",
                                                                  "headers": auth}, {400, 422}),
        ("api: wrong content type", "POST", f"/api/v1/accounts/{a}/lists", {"data": "name=x", "headers": auth,
                                                                           "content_type": "text/plain"}, {415}),
        ("api: NUL in JSON", "POST", f"/api/v1/accounts/{a}/lists", {"json": {"name": "x\x00"}, "headers": auth}, {422}),
        ("api: extra field", "POST", f"/api/v1/accounts/{a}/lists", {"json": {"name": "x", "admin": True},
                                                                    "headers": auth}, {422}),
        ("api: CRLF in name", "POST", "/api/v1/accounts", {"json": {"name": "x\r\nBcc: e@x", "postal_address": "y"},
                                                           "headers": auth}, {422}),
        ("api: unknown account", "GET", "/api/v1/accounts/%E2%80%AE", {"headers": auth}, {404}),
        ("api: malformed bearer", "GET", f"/api/v1/accounts/{a}", {"headers": {"Authorization": "Bearer \u00e9\u00e9"}},
         {401}),
    ]


def test_every_bad_request_gets_a_clear_answer_and_changes_nothing(app, client, world):
    before = row_counts()
    failures = []
    for name, method, path, kwargs, accepted in corpus(world):
        response = client.open(path, method=method, **kwargs)
        if response.status_code not in accepted:
            failures.append(f"{name}: {response.status_code} {response.get_data()[:120]!r}")
        after = row_counts()
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        if changed:
            failures.append(f"{name}: changed {changed}")
            before = after
    assert failures == []


def test_an_oversized_body_gets_413_and_changes_nothing(app, world):
    before = row_counts()
    with other_app(app, PORTAL_PAGE_MAX_BYTES=4096, PORTAL_API_MAX_BYTES=4096) as small:
        client = small.test_client()
        form = client.post(f"/f/{world['form']}", data={"email": "big@example.org", "name": "x" * 10000})
        api = client.post(f"/api/v1/accounts/{world['account']}/lists", json={"name": "y" * 10000},
                          headers=world["auth"])
    assert (form.status_code, api.status_code) == (413, 413)
    assert row_counts() == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_the_form_redirect_goes_nowhere_the_account_did_not_allow(client, create_form, target):
    form = create_form()
    response = client.post(f"/f/{form.id}?next={target}&redirect_url={target}",
                           data={"email": "r@example.org", "redirect_url": target, "next": target})
    assert response.status_code == 303
    assert response.headers["Location"].split("?")[0].endswith(f"/f/{form.id}/thanks")


def test_crlf_in_a_signup_name_never_reaches_the_mail_headers(app, client, create_form, smtp_server):
    form = create_form()
    response = signup(client, form, "crlf@example.org", name="Ann\r\nBcc: evil@example.net\r\nSubject: hi")
    assert response.status_code == 303
    with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port):
        assert len(worker.run_once().sent) == 1
    (message,) = smtp_server.messages
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["crlf@example.org"]
    assert message["Bcc"] is None and "evil" not in str(message["To"]) and "hi" != str(message["Subject"])
    assert all("evil" not in str(value) for value in message.values())


def test_signup_timing_tells_nothing_about_the_address(app, create_form, create_contact, create_subscription):
    """STANDARDS I-12: medians of new, confirmed and suppressed addresses within 50 ms (with the
    production answer-time floor, PORTAL_SIGNUP_MIN_SECONDS, or above it when a new signup's own
    work, measured in the same run, does not fit in it on this machine)."""
    from portal.config import Config

    form = create_form()
    confirmed = create_contact(form.account, email="known@example.org")
    create_subscription(confirmed, form.lists[0])
    suppression.add("blocked@example.org", scope="account", reason="complaint", account_id=form.account_id)
    from portal.extensions import db

    db.session.commit()
    form_id = form.id
    trials = {"new": [], "confirmed": [], "suppressed": []}
    with other_app(app, PORTAL_SIGNUP_MIN_SECONDS=0) as bare:
        work = _new_signup_time(bare.test_client(), form_id)
    # The floor hides a new signup's work only while the work fits in it: on a machine that other
    # processes load, a new signup can take longer than the production floor (0.4 s measured at
    # load average 9 on 2 cores), and the floor of the run is raised above it.
    floor = max(Config.PORTAL_SIGNUP_MIN_SECONDS, 2 * work)
    with other_app(app, PORTAL_SIGNUP_MIN_SECONDS=floor) as timed:
        _time_signups(timed.test_client(), form_id, trials)
    medians = {kind: statistics.median(times) * 1000 for kind, times in trials.items()}
    print(f"new signup's work {work * 1000:.1f} ms, floor {floor * 1000:.0f} ms; signup median ms:",
          {kind: round(ms, 1) for kind, ms in medians.items()})
    assert max(medians.values()) - min(medians.values()) < 50, medians


def _new_signup_time(client, form_id: str) -> float:
    """The median time of a new address's signup, with no floor: the work the floor must hide."""
    times = []
    for n in range(10):
        started = time.perf_counter()
        assert client.post(f"/f/{form_id}", data={"email": f"work{n}@example.org"}).status_code == 303
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _time_signups(client, form_id: str, trials: dict) -> None:
    for n in range(30):
        for kind, email in (("new", f"new{n}@example.org"), ("confirmed", "known@example.org"),
                            ("suppressed", "blocked@example.org")):
            started = time.perf_counter()
            assert client.post(f"/f/{form_id}", data={"email": email}).status_code == 303
            trials[kind].append(time.perf_counter() - started)
