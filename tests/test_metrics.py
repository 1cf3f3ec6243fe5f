"""/metrics: protected by PORTAL_METRICS_TOKEN, DB-derived figures at scrape time, every worker's requests."""
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal import links
from portal.outbox import worker
from tests.subscriptions.helpers import signup

TOKEN = "scrape-me-3f2a"
metrics_on = pytest.mark.app_config(PORTAL_METRICS_TOKEN=TOKEN)


def scrape(client) -> dict:
    """{(name, labels as sorted tuple): value} of one authorised scrape."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
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


def test_several_gunicorn_workers_report_every_request(app, db, tmp_path):
    from tests.reliability.support import LiveServer

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    route = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    shared = tmp_path / "metrics"
    shared.mkdir()
    with LiveServer(url, workers=2, threads=1, PORTAL_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=shared) as server:
        for _ in range(20):
            with urllib.request.urlopen(server.url + "/healthz", timeout=10) as answer:
                assert answer.headers["X-Request-ID"]
        counts = set()
        for _ in range(6):  # scrapes land on either worker: each sees all requests
            request = urllib.request.Request(server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                counts.add(parse(answer.read().decode())[("portal_http_requests_total", route)])
    # The server's own start-up check and the 20 above, whichever worker served them.
    assert len(counts) == 1 and counts.pop() >= 20
    assert list(shared.glob("counter_*.db")), "the workers count in the shared directory"
