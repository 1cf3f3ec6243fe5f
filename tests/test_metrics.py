"""/metrics: protected by PORTAL_METRICS_TOKEN, DB-derived figures at scrape time, every worker's requests."""
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal import links
from portal.outbox import worker
from tests.conftest import bearer
from tests.subscriptions.helpers import signup

TOKEN = "scrape-me-3f2a"
metrics_on = pytest.mark.app_config(PORTAL_METRICS_TOKEN=TOKEN)


def scrape(client) -> dict:
    """{(name, labels as sorted tuple): value} of one authorised scrape."""
    answer = client.get("/metrics", headers=bearer(TOKEN))
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    return parse(answer.get_data(as_text=True))


def parse(text: str) -> dict:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_no_token_configured_means_no_metrics(client):
    answer = client.get("/metrics", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"


@metrics_on
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_a_wrong_or_missing_token_is_refused(client, header):
    headers = {"Accept": "application/json", **({"Authorization": header} if header else {})}
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"


@metrics_on
def test_metrics_change_when_a_mail_is_sent_and_an_unsubscribe_happens(client, create_form, create_subscription):
    form = create_form()
    before = scrape(client)
    assert before[("portal_outbox_depth", (("channel", "mail"),))] == 0
    signup(client, form, "ann@example.org")
    queued = scrape(client)
    assert queued[("portal_outbox_depth", (("channel", "mail"),))] == 1
    assert queued[("portal_outbox_oldest_age_seconds", (("channel", "mail"),))] >= 0
    assert ("portal_outbox_messages", (("channel", "mail"), ("status", "sent"))) not in queued
    assert worker.run_once().sent
    sent = scrape(client)
    assert sent[("portal_outbox_depth", (("channel", "mail"),))] == 0
    assert sent[("portal_outbox_messages", (("channel", "mail"), ("status", "sent")))] == 1
    assert sent[("portal_unsubscribes_total", ())] == before[("portal_unsubscribes_total", ())] == 0
    subscription = create_subscription(mailing_list=form.lists[0])
    url = links.unsubscribe_url(links.Target(subscription.contact_id, subscription.list_id, "<m1@x>"))
    assert client.post(url.replace("https://portal.test", ""), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    after = scrape(client)
    assert after[("portal_unsubscribes_total", ())] == 1
    assert after[("portal_consent_events_total", (("type", "unsubscribed"),))] == 1
    assert after[("portal_suppressions", ())] >= sent[("portal_suppressions", ())]


@metrics_on
def test_requests_are_counted_by_route_with_their_latency(client, create_form):
    form = create_form()
    route = (("method", "GET"), ("route", "/f/<form_id>"), ("status", "200"))
    before = scrape(client).get(("portal_http_requests_total", route), 0)
    for _ in range(3):
        client.get(f"/f/{form.id}")
    after = scrape(client)
    assert after[("portal_http_requests_total", route)] == before + 3
    assert after[("portal_http_request_duration_seconds_count", (("method", "GET"), ("route", "/f/<form_id>")))] >= 3
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    client.get("/no/such/page/abc")
    assert scrape(client)[("portal_http_requests_total", unmatched)] >= 1


@metrics_on
def test_the_other_figures_are_there(client, create_account):
    create_account()
    figures = scrape(client)
    for name in ("portal_complaint_rate", "portal_accounts", "portal_complaints_total",
                 "portal_suppression_index_lag", "portal_suppression_index_entries", "portal_suppression_feed_seq",
                 "portal_delivery_events_total", "portal_outbox_retrying"):
        assert any(key[0] == name for key in figures), name
    assert figures[("portal_accounts", (("status", "active"),))] == 1
    assert figures[("portal_complaint_rate", (("window", "30d"),))] == 0


HEALTHZ = (("method", "GET"), ("route", "/healthz"), ("status", "200"))


def _every_worker_counts(server, requests: int) -> set:
    """GET /healthz ``requests`` times, then the count that six scrapes (landing on any worker) report."""
    for _ in range(requests):
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as answer:
            assert answer.headers["X-Request-ID"]
    counts = set()
    for _ in range(6):  # scrapes land on either worker: each sees all requests
        request = urllib.request.Request(server.url + "/metrics", headers=bearer(TOKEN))
        with urllib.request.urlopen(request, timeout=10) as answer:
            counts.add(parse(answer.read().decode())[("portal_http_requests_total", HEALTHZ)])
    return counts


def test_several_gunicorn_workers_report_every_request(app, db, tmp_path):
    from tests.conftest import ledger_env
    from tests.reliability.support import LiveServer

    url, env = app.config["SQLALCHEMY_DATABASE_URI"], ledger_env(app)
    db.session.remove()
    shared = tmp_path / "metrics"
    shared.mkdir()
    with LiveServer(url, workers=2, threads=1, PORTAL_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=shared,
                    **env) as server:
        counts = _every_worker_counts(server, 20)
    # The server's own start-up check and the 20 above, whichever worker served them.
    assert len(counts) == 1 and counts.pop() >= 20
    assert list(shared.glob("counter_*.db")), "the workers count in the shared directory"


def test_gunicorn_makes_its_own_metrics_directory_and_removes_it(app, db, tmp_path):
    """Without PROMETHEUS_MULTIPROC_DIR, gunicorn.conf.py makes a fresh directory that the workers share."""
    from tests.conftest import ledger_env
    from tests.reliability.support import LiveServer

    url, env = app.config["SQLALCHEMY_DATABASE_URI"], ledger_env(app)
    db.session.remove()
    server = LiveServer(url, workers=2, threads=1, PORTAL_METRICS_TOKEN=TOKEN, TMPDIR=tmp_path, **env)
    server.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with server:
        (made,) = tmp_path.glob("portal-metrics-*")
        counts = _every_worker_counts(server, 10)
        assert list(made.glob("counter_*.db")), "the workers count in the directory gunicorn made"
    assert len(counts) == 1 and counts.pop() >= 10
    assert not made.exists(), "the server removes the directory it made"


# --- each family moves --------------------------------------------------------------------

def _import(client, account_auth, mailing_list, content: str, method: str):
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    form = {"file": FileStorage(io.BytesIO(content.encode()), filename="c.csv", content_type="text/csv"),
            "consent_method": method, "attestation": "Signed up at our shop's checkout, confirmed by mail."}
    boundary, body = encode_multipart(form)
    answer = client.post(f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports", data=body,
                         content_type=f"multipart/form-data; boundary={boundary}",
                         headers=account_auth(mailing_list.account))
    assert answer.status_code == 202, answer.json


def _recent(days: int = 3) -> str:
    from datetime import date, timedelta

    return (date.today() - timedelta(days=days)).isoformat()


@metrics_on
def test_import_jobs_and_their_rows_are_counted(client, account_auth, create_list):
    from portal.imports.operations import worker as imports

    mailing_list = create_list()
    assert not any(key[0] == "portal_import_jobs" for key in scrape(client))
    _import(client, account_auth, mailing_list, f"email,consented_at\nann@example.org,{_recent()}\n"
            f"bob@example.org,{_recent()}\npostmaster@example.org,{_recent()}\n", "double_opt_in")
    assert scrape(client)[("portal_import_jobs", (("status", "queued"),))] == 1
    imports.run_once()
    _import(client, account_auth, mailing_list, f"email,consented_at\ncat@example.org,{_recent()}\n", "single_opt_in")
    imports.run_once()
    figures = scrape(client)
    assert figures[("portal_import_jobs", (("status", "finished"),))] == 2
    assert ("portal_import_jobs", (("status", "queued"),)) not in figures
    assert figures[("portal_import_rows_total", (("outcome", "confirmed"),))] == 2
    assert figures[("portal_import_rows_total", (("outcome", "pending"),))] == 1
    assert figures[("portal_import_rows_total", (("outcome", "refused"),))] == 1  # the role address


@metrics_on
def test_complaints_by_source_and_the_complaint_rate_move(client, db, create_account, create_contact,
                                                          create_deliveries):
    from portal.complaints import operations as complaints

    account = create_account()
    create_deliveries(account, 400)
    before = scrape(client)
    assert before[("portal_complaints_total", (("source", "web"),))] == 0
    assert before[("portal_complaint_rate", (("window", "30d"),))] == 0
    complaints.file_complaint(create_contact(account), category="not_requested", source="web", ledger_source="t")
    complaints.file_complaint(create_contact(account), category="not_requested", source="feedback_loop",
                              ledger_source="t")
    db.session.commit()
    after = scrape(client)
    assert after[("portal_complaints_total", (("source", "web"),))] == 1
    assert after[("portal_complaints_total", (("source", "feedback_loop"),))] == 1
    assert after[("portal_complaint_rate", (("window", "30d"),))] == pytest.approx(2 / 400)


@metrics_on
def test_deliveries_and_bounces_are_counted(client, create_account, platform_auth):
    account = create_account()
    at = "2026-12-01T10:00:00Z"
    events = ([{"email": f"d{i}@example.org", "type": "delivered", "at": at, "message_id": f"<d{i}@x>"}
               for i in range(3)] + [{"email": "h@example.org", "type": "hard_bounce", "at": at, "message_id": "<h@x>"},
                                    {"email": "s@example.org", "type": "soft_bounce", "at": at, "message_id": "<s@x>"}])
    assert scrape(client)[("portal_delivery_events_total", (("type", "delivered"),))] == 0
    for _ in range(2):  # the second report repeats the first: counted once
        answer = client.post(f"/api/v1/accounts/{account.id}/deliveries", json={"events": events}, headers=platform_auth)
        assert answer.status_code == 200
        figures = scrape(client)
        assert figures[("portal_delivery_events_total", (("type", "delivered"),))] == 3
        assert figures[("portal_delivery_events_total", (("type", "hard_bounce"),))] == 1
        assert figures[("portal_delivery_events_total", (("type", "soft_bounce"),))] == 1


def _mail_gauges(figures, channel="mail") -> dict:
    return {name: figures[(f"portal_outbox_{name}", (("channel", channel),))]
            for name in ("depth", "scheduled", "retrying", "oldest_age_seconds")}


@metrics_on
@pytest.mark.app_config(PORTAL_METRICS_TOKEN=TOKEN, MAIL_SERVER="127.0.0.1", PORTAL_OUTBOX_MAX_ATTEMPTS=2,
                        PORTAL_OUTBOX_BACKOFF_SECONDS=600)
def test_a_mail_that_fails_is_retrying_then_failed(client, app, db, create_form):
    from datetime import timedelta

    from sqlalchemy import update

    from portal.db import utcnow
    from portal.outbox.models import OutboxMessage
    from tests.conftest import free_port

    app.config["MAIL_PORT"] = free_port()  # nothing listens there: every attempt fails
    signup(client, create_form(), "ann@example.org")
    assert _mail_gauges(scrape(client))["depth"] == 1
    assert worker.run_once().retried
    retried = scrape(client)
    assert _mail_gauges(retried) == {"depth": 0, "scheduled": 1, "retrying": 1, "oldest_age_seconds": 0}
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=90)))
    db.session.commit()
    due = _mail_gauges(scrape(client))
    assert due["depth"] == 1 and due["retrying"] == 1 and 90 <= due["oldest_age_seconds"] < 600
    assert worker.run_once().failed
    failed = scrape(client)
    assert failed[("portal_outbox_messages", (("channel", "mail"), ("status", "failed")))] == 1
    assert ("portal_outbox_messages", (("channel", "mail"), ("status", "sent"))) not in failed
    assert _mail_gauges(failed) == {"depth": 0, "scheduled": 0, "retrying": 0, "oldest_age_seconds": 0}


@metrics_on
@pytest.mark.app_config(PORTAL_METRICS_TOKEN=TOKEN, PORTAL_IMPORT_MAILS_PER_MINUTE=1)
def test_depth_and_age_count_only_mail_due_now(client, account_auth, create_list):
    """An import's mails spread over minutes are scheduled, not a backlog."""
    from portal.imports.operations import worker as imports

    rows = "".join(f"p{i}@example.org,{_recent()}\n" for i in range(3))
    _import(client, account_auth, create_list(), "email,consented_at\n" + rows, "single_opt_in")
    imports.run_once()
    figures = _mail_gauges(scrape(client))
    assert figures["depth"] == 1 and figures["scheduled"] == 2 and figures["oldest_age_seconds"] < 60
    assert worker.run_once().sent
    figures = _mail_gauges(scrape(client))
    assert figures["depth"] == 0 and figures["scheduled"] == 2 and figures["oldest_age_seconds"] == 0


@metrics_on
def test_the_suppression_index_size_and_lag_follow_the_feed(client, app, create_account, platform_auth):
    account = create_account()
    base = f"/api/v1/accounts/{account.id}/suppressions"

    def figures():
        found = scrape(client)
        return tuple(found[(name, ())] for name in ("portal_suppressions", "portal_suppression_feed_seq",
                                                    "portal_suppression_index_entries",
                                                    "portal_suppression_index_lag"))

    assert figures() == (0, 0, 0, -1)  # nothing looked up yet: the index is not loaded
    assert client.put(f"{base}/ann@example.org", json={"reason": "manual"}, headers=platform_auth).status_code in (200, 201)
    assert figures()[:2] == (1, 1)
    assert client.get(f"{base}/ann@example.org", headers=platform_auth).json["suppressed"] is True
    assert figures() == (1, 1, 1, 0)
    assert client.put(f"{base}/bob@example.org", json={"reason": "manual"}, headers=platform_auth).status_code in (200, 201)
    lagging = figures()
    assert lagging[:2] == (2, 2) and lagging[3] in (0, 1)  # applied at the next lookup, or at once
    client.get(f"{base}/bob@example.org", headers=platform_auth)
    assert figures() == (2, 2, 2, 0)
    assert client.delete(f"{base}/ann@example.org?reason=asked+by+the+person",
                         headers=platform_auth).status_code == 200
    client.get(f"{base}/ann@example.org", headers=platform_auth)
    lifted = figures()  # the index's size is its own estimate: its base plus the addresses changed since
    assert lifted[:2] == (1, 3) and lifted[2] >= 1 and lifted[3] == 0


# --- the scrape is cheap --------------------------------------------------------------------

GROWING = ("consent_events", "delivery_events", "suppression_changes", "complaints", "outbox_messages")


def _statements_of(db, client) -> list[str]:
    from sqlalchemy import event

    seen = []

    def keep(_conn, _cursor, statement, *_rest):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        figures = scrape(client)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return seen, figures


@metrics_on
def test_a_scrape_counts_only_the_rows_added_since_the_previous_one(client, db, monkeypatch, create_form,
                                                                    create_account, create_contact, create_deliveries,
                                                                    runner):
    """The growing tables are counted once by each process, then only by their new rows."""
    from datetime import timedelta

    from portal import metrics
    from portal.complaints import operations as complaints

    monkeypatch.setattr(metrics, "SETTLE", timedelta(0))  # every committed row settles at once
    form = create_form()
    for address in ("ann@example.org", "bob@example.org"):
        signup(client, form, address)
    create_deliveries(form.account, 5)
    complaints.file_complaint(create_contact(form.account), category="not_requested", source="web", ledger_source="t")
    db.session.commit()
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    first = scrape(client)
    signup(client, form, "cat@example.org")
    create_deliveries(form.account, 2)
    statements, second = _statements_of(db, client)
    counting = [s for s in statements if "count(" in s.lower() and any(f"FROM {t}" in s for t in GROWING)]
    assert counting, statements
    for statement in counting:  # each count is bounded by a key (new rows) or reads waiting mail only
        assert (".id >" in statement or ".seq >" in statement or "outbox_messages.status =" in statement
                or "complaints.created_at >=" in statement), statement
    assert second == {**second, **_true_counts(db)}  # what counting every table gives
    events = ("portal_consent_events_total", (("type", "signup_requested"),))
    assert second[events] == first[events] + 1
    delivered = ("portal_delivery_events_total", (("type", "delivered"),))
    assert (first[delivered], second[delivered]) == (5, 7)
    pending = ("portal_outbox_messages", (("channel", "mail"), ("status", "pending")))
    assert second[pending] == first[pending] + 1
    assert second[("portal_complaints_total", (("source", "web"),))] == 1


def _true_counts(db) -> dict:
    """The figures counted over the whole tables, as the scrape did before."""
    from sqlalchemy import func, select

    from portal.complaints.models import Complaint
    from portal.consent.models import ConsentEvent
    from portal.outbox.models import OutboxMessage
    from portal.suppression.models import DeliveryEvent, Suppression

    found = {("portal_suppressions", ()): db.session.scalar(select(func.count()).select_from(Suppression))}
    for name, label, column in (("portal_consent_events_total", "type", ConsentEvent.type),
                                ("portal_delivery_events_total", "type", DeliveryEvent.type),
                                ("portal_complaints_total", "source", Complaint.source)):
        for value, count in db.session.execute(select(column, func.count()).group_by(column)):
            found[(name, ((label, value),))] = count
    for channel, status, count in db.session.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count())
                                                     .group_by(OutboxMessage.channel, OutboxMessage.status)):
        found[("portal_outbox_messages", (("channel", channel), ("status", status)))] = count
    return found


@metrics_on
def test_kept_counts_start_again_when_the_table_is_emptied(client, app, db, create_account, create_deliveries,
                                                           monkeypatch):
    from datetime import timedelta

    from sqlalchemy import delete

    from portal import metrics
    from portal.suppression.models import DeliveryCount, DeliveryEvent

    monkeypatch.setattr(metrics, "SETTLE", timedelta(0))
    create_deliveries(create_account(), 4)
    key = ("portal_delivery_events_total", (("type", "delivered"),))
    assert scrape(client)[key] == 4 and scrape(client)[key] == 4
    db.session.execute(delete(DeliveryCount))
    db.session.execute(delete(DeliveryEvent))  # a restore of an empty database, say
    db.session.commit()
    assert scrape(client)[key] == 0
