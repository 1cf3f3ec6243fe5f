"""GET /api/v1/accounts/<id>/ledger/export: NDJSON, streamed in keyset pages, filtered."""
import json
from datetime import timedelta

import pytest

from portal.consent.operations import record
from portal.db import utcnow
from portal.extensions import db
from portal.consent import export as consent_export
from tests.pagetools import refusal


def ndjson(response) -> list[dict]:
    return [json.loads(line) for line in response.data.decode().splitlines()]


def url(account, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/accounts/{account.id}/ledger/export" + (f"?{query}" if query else "")


def test_export_proves_consent_who_when_how_and_the_text_shown(client, people, account_auth):
    person, bystander = people
    response = client.get(url(person.account), headers=account_auth(person.account))
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.is_streamed
    events = ndjson(response)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert {e["email"] for e in events} == {person.email, bystander.email}
    signup = next(e for e in events if e["type"] == "signup_requested" and e["email"] == person.email)
    assert signup["ip"] == person.ip and signup["user_agent"] == person.user_agent
    assert signup["page_url"] == person.page_url and signup["occurred_at"].endswith("Z")
    assert signup["consent_text"]["text"] == "Yes, mail me news. Unsubscribe any time."
    assert signup["consent_text"]["version"] == 1 and signup["form_id"] == signup["consent_text"]["form_id"]
    # Every later change of the same contact follows, in order.
    mine = [e["type"] for e in events if e["contact_id"] == person.contact.id]
    assert mine == ["confirmed", "signup_requested", "confirmation_sent"]


def test_export_only_holds_the_accounts_own_events(client, people, create_contact, platform_auth):
    person, _ = people
    stranger = create_contact()
    record("confirmed", contact=stranger, source="test")
    db.session.commit()
    events = ndjson(client.get(url(person.account), headers=platform_auth))
    assert stranger.id not in {e["contact_id"] for e in events}


def test_export_reads_in_pages_without_skipping_or_repeating(client, people, platform_auth, monkeypatch):
    person, _ = people
    monkeypatch.setattr(consent_export, "PAGE_SIZE", 2)
    events = ndjson(client.get(url(person.account), headers=platform_auth))
    assert len(events) == 6 and len({e["id"] for e in events}) == 6


def test_filters_since_until_and_list(client, people, platform_auth):
    person, _ = people
    contact = person.contact
    old = record("unsubscribed", contact=contact, source="test", list_id=person.lists[0].id,
                 occurred_at=utcnow() - timedelta(days=10))
    db.session.commit()
    auth = platform_auth
    since = (utcnow() - timedelta(days=1)).isoformat()
    recent = ndjson(client.get(url(person.account, since=since.replace("+", "%2B")), headers=auth))
    assert old.id not in {e["id"] for e in recent} and len(recent) == 6
    until = (utcnow() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [e["id"] for e in ndjson(client.get(url(person.account, until=until), headers=auth))] == [old.id]
    on_list = ndjson(client.get(url(person.account, list_id=person.lists[1].id), headers=auth))
    assert on_list and {e["list_id"] for e in on_list} == {person.lists[1].id}


@pytest.mark.parametrize("params,status", [({"since": "yesterday"}, 422), ({"until": "2026-13-01"}, 422),
                                           ({"list_id": "nope"}, 404)])
def test_bad_filters_are_clear_errors(client, people, platform_auth, params, status):
    person, _ = people
    response = client.get(url(person.account, **params), headers=platform_auth)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_another_accounts_key_cannot_export(client, people, create_account, account_auth):
    person, _ = people
    response = client.get(url(person.account), headers=account_auth(create_account()))
    assert refusal(response) == (404, "not_found")


def test_erased_contacts_export_without_personal_data(client, people, platform_auth):
    from portal.privacy.operations import erase_contact

    person, _ = people
    erase_contact(person.contact)
    db.session.commit()
    events = [e for e in ndjson(client.get(url(person.account), headers=platform_auth))
              if e["contact_id"] == person.contact.id]
    assert events[-1]["type"] == "erased"
    assert all(e["email"] is None and e["ip"] is None and e["user_agent"] is None for e in events)
    assert all(e["redacted"] for e in events[:-1])


def test_documented_in_openapi_as_ndjson(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    get = paths["/api/v1/accounts/{account_id}/ledger/export"]["get"]
    assert "application/x-ndjson" in get["responses"]["200"]["content"]
    assert {p["name"] for p in get["parameters"]} >= {"since", "until", "list_id"}
