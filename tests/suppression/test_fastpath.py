"""The lookup fast path: the same bytes as the Flask route, and Flask answers whatever it does not."""
import sqlite3

import pytest
from flask import request_started

from portal.accounts.operations import revoke_api_key
from portal.suppression import operations
from tests import factories
from tests.conftest import bearer, make_app, migrate


@pytest.fixture
def flask_only(second_app):
    """A second app on the test's database with the fast path off: the reference answers."""
    return second_app(PORTAL_FAST_LOOKUP=False)


@pytest.fixture
def dispatched(app):
    """The paths Flask dispatched (the fast path answers without it)."""
    seen = []

    def record(sender, **_extra):
        from flask import request

        seen.append(request.path)

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def answer(client, path, **kwargs):
    """Status, headers and body; the request id (new on every answer, fast or not) only as present."""
    response = client.get(path, **kwargs)
    headers = [(name, value) for name, value in response.headers.items() if name != "X-Request-ID"]
    assert len(response.headers["X-Request-ID"]) == 32
    return response.status_code, headers, response.get_data()


def without_request_id(headers) -> list:
    return [(name, value) for name, value in headers.items() if name != "X-Request-ID"]


def url(account_id, email):
    return f"/api/v1/accounts/{account_id}/suppressions/{email}"


def test_plain_lookups_are_answered_in_front_of_flask_with_the_same_bytes(app, flask_only, dispatched, db):
    mailing_list = factories.create_list()
    account = mailing_list.account
    operations.add("s@x.org", scope="global", reason="complaint")
    operations.add("s@x.org", scope="account", reason="manual", account_id=account.id)
    operations.add("s@x.org", scope="list", reason="unsubscribed", account_id=account.id, list_id=mailing_list.id)
    operations.add("t@x.org", scope="account", reason="hard_bounce", account_id=factories.create_account().id)
    db.session.commit()
    _key, platform = factories.create_api_key("platform")
    _key, own = factories.create_api_key("account", account)
    fast, reference = app.test_client(), flask_only.test_client()
    plain = [
        (url(account.id, "s@x.org"), bearer(platform), "http://localhost"),
        (url(account.id, "S@X.ORG"), {"Authorization": f"bearer {own}"}, "http://localhost"),
        (url(account.id, "%20s@x.org%20"), {"Authorization": f"Bearer  {own}"}, "http://localhost"),
        (url(account.id, "t@x.org"), bearer(own), "http://localhost"),  # another's entry
        (url(account.id, "ann+news@example.co.id?x=1"), bearer(own), "http://localhost"),
        (url(account.id, "s@x.org"), bearer(platform), "https://portal.example"),  # HSTS
    ]
    for path, headers, base_url in plain:
        got = answer(fast, path, headers=headers, base_url=base_url)
        assert got == answer(reference, path, headers=headers, base_url=base_url), path
        assert got[0] == 200
    assert dispatched == []
    entries = fast.get(url(account.id, "s@x.org"), headers=bearer(own)).json["entries"]
    assert [entry["scope"] for entry in entries] == ["global", "account", "list"]


def test_everything_else_is_answered_by_flask(app, flask_only, dispatched, db):
    account, other = factories.create_account(), factories.create_account()
    revoked_key, revoked = factories.create_api_key("platform")
    revoke_api_key(revoked_key)
    db.session.commit()
    _key, platform = factories.create_api_key("platform")
    _key, own = factories.create_api_key("account", account)
    fast, reference = app.test_client(), flask_only.test_client()
    mine = bearer(own)
    cases = [
        (url(account.id, "a@x.org"), {}),  # no key: 401
        (url(account.id, "a@x.org"), {"Authorization": "Bearer nope"}),
        (url(account.id, "a@x.org"), {"Authorization": f"Basic {own}"}),
        (url(account.id, "a@x.org"), bearer(revoked)),
        (url(other.id, "a@x.org"), mine),  # another account: 404
        (url("no-such-account", "a@x.org"), bearer(platform)),
        (url("%00", "a@x.org"), bearer(platform)),
        (url(account.id, "a@"), mine),  # invalid addresses: 422
        (url(account.id, "a@b@x.org"), mine),
        (url(account.id, "a%00@x.org"), mine),
        (url(account.id, "a%0d%0aX-Injected:%201@x.org"), mine),
        (url(account.id, "a@x.org/"), mine),
        (url(account.id, "not-an-address"), mine),
        (url(account.id, "%C3%BC@x.org"), mine),  # not ASCII: Werkzeug decodes it
        (url(account.id, "check"), mine),
    ]
    for path, headers in cases:
        got = answer(fast, path, headers=headers)
        assert got == answer(reference, path, headers=headers), path
        assert got[0] != 500, path
    head = fast.head(url(account.id, "a@x.org"), headers=mine)
    same = reference.head(url(account.id, "a@x.org"), headers=mine)
    assert head.status_code == 200 and without_request_id(head.headers) == without_request_id(same.headers)
    assert len(dispatched) == len(cases) + 1  # every case, and HEAD, went through Flask
    assert [fast.get(path, headers=headers).status_code for path, headers in cases[:3]] == [401] * 3


def test_a_write_through_another_app_is_seen_at_once(app, flask_only, dispatched):
    account = factories.create_account()
    _key, secret = factories.create_api_key("platform")
    auth = bearer(secret)
    fast, writer = app.test_client(), flask_only.test_client()
    assert fast.get(url(account.id, "w@x.org"), headers=auth).json["suppressed"] is False
    assert writer.put(url(account.id, "w@x.org"), json={"reason": "manual"}, headers=auth).status_code == 200
    assert fast.get(url(account.id, "w@x.org"), headers=auth).json["suppressed"] is True
    assert writer.delete(url(account.id, "w@x.org?reason=asked"), headers=auth).status_code == 200
    assert fast.get(url(account.id, "w@x.org"), headers=auth).json["suppressed"] is False
    assert dispatched == []


def test_a_failing_lookup_is_answered_by_flask_with_the_json_error(tmp_path):
    path = tmp_path / "broken.sqlite3"
    migrate(f"sqlite:///{path}")
    fast, reference = make_app(f"sqlite:///{path}"), make_app(f"sqlite:///{path}", PORTAL_FAST_LOOKUP=False)
    with fast.app_context():
        account_id = factories.create_account().id
        _key, secret = factories.create_api_key("platform")
    with sqlite3.connect(path) as conn:  # the index cannot read the feed any more
        conn.execute("ALTER TABLE suppression_changes RENAME TO suppression_changes_gone")
    auth = bearer(secret)
    got = answer(fast.test_client(), url(account_id, "a@x.org"), headers=auth)
    assert got == answer(reference.test_client(), url(account_id, "a@x.org"), headers=auth)
    assert got[0] == 500 and b'"code":"internal_error"' in got[2]


def test_the_fast_path_can_be_turned_off(app, flask_only):
    # Both under the outermost request layer (request ids and metrics: portal/logs.py).
    assert type(flask_only.wsgi_app).__name__ == type(app.wsgi_app).__name__ == "RequestMiddleware"
    assert type(flask_only.wsgi_app.wsgi_app).__name__ == "method"  # Flask's own
    assert type(app.wsgi_app.wsgi_app).__name__ == "LookupFastPath"


def test_behind_a_proxy_the_fast_path_sees_the_forwarded_scheme(second_app, dispatched):
    behind = second_app(PORTAL_PROXY_COUNT=1)
    account = factories.create_account()
    _key, secret = factories.create_api_key("platform")
    seen = []

    def record(sender, **_extra):
        seen.append(sender)

    request_started.connect(record, behind)
    response = behind.test_client().get(url(account.id, "a@x.org"), headers={
        "Authorization": f"Bearer {secret}", "X-Forwarded-Proto": "https"})
    assert response.status_code == 200 and seen == []
    assert behind.test_client().get("/healthz").status_code == 200 and seen == [behind]  # the recorder works
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_check_added_to_the_routes_guard_holds_on_the_fast_path_too(app, dispatched, db, monkeypatch):
    """Issue 15: the fast path runs the route's own guard (portal.api.guard), not a copy of it."""
    from portal import api
    from portal.errors import Forbidden

    account = factories.create_account()
    _key, secret = factories.create_api_key("platform")
    db.session.commit()
    client, auth = app.test_client(), bearer(secret)
    assert client.get(url(account.id, "a@x.org"), headers=auth).status_code == 200 and dispatched == []
    route_guard = api.guard

    def stricter(operation, authorization, values):
        if values.get("account_id") == account.id:
            raise Forbidden("This account is closed to lookups.")
        return route_guard(operation, authorization, values)

    monkeypatch.setattr(api, "guard", stricter)
    refused = client.get(url(account.id, "a@x.org"), headers=auth)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert len(dispatched) == 1  # the fast path's guard refused it too, so Flask answered


def test_the_fast_path_serves_the_routes_own_rule_and_view(app):
    from portal import api
    from portal.suppression import api as suppression_api, fastpath

    layer = fastpath.LookupFastPath(app, app.wsgi_app)
    assert layer.operation.view is suppression_api.lookup.__wrapped__
    assert layer.operation.rule == "/accounts/<account_id>/suppressions/<path:email>"
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == f"api.{fastpath.ENDPOINT}")
    assert rule.rule == api.bp.url_prefix + layer.operation.rule and rule.methods >= {layer.operation.method}
    match = layer.pattern.match("/api/v1/accounts/abc/suppressions/a/b@x.org")
    assert match.groupdict() == app.url_map.bind("localhost").match(
        "/api/v1/accounts/abc/suppressions/a/b@x.org", method="GET")[1]
    assert layer.pattern.match("/api/v1/accounts/abc/suppressions/") is None
    assert layer.pattern.match("/api/v1/accounts/a/b/suppressions/x@y.org") is None


def test_in_debug_the_fast_path_writes_the_same_indented_json_as_flask(app, flask_only, dispatched, db):
    """Flask's compact-or-indented decision is made in one place (OrjsonProvider.answer_text)."""
    account = factories.create_account()
    operations.add("s@x.org", scope="account", reason="manual", account_id=account.id)
    _key, secret = factories.create_api_key("platform")
    db.session.commit()
    app.debug = flask_only.debug = True
    auth = bearer(secret)
    got = answer(app.test_client(), url(account.id, "s@x.org"), headers=auth)
    assert got == answer(flask_only.test_client(), url(account.id, "s@x.org"), headers=auth)
    assert got[2].startswith(b'{\n  "email"') and dispatched == []
