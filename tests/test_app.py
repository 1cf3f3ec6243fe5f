"""The app factory, configuration, health check, error shapes and the OpenAPI document."""
from portal import create_app
from portal.config import database_url
from tests.pagetools import refusal


def test_database_url_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url(str(tmp_path)) == f"sqlite:///{tmp_path}/portal.sqlite3"


def test_database_url_uses_psycopg3_for_postgres(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.internal/portal")
    assert database_url(str(tmp_path)) == "postgresql+psycopg://u@db.internal/portal"


def test_config_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "old-1, old-2")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://mail.example/")
    monkeypatch.setenv("PORTAL_LEDGER_CREATE_KEYS", "1")  # outside development a start needs its key files
    import importlib

    import portal.config

    importlib.reload(portal.config)
    try:
        app = create_app(portal.config.Config)
        assert app.config["SECRET_KEY_FALLBACKS"] == ["old-1", "old-2"]
        assert app.config["PORTAL_BASE_URL"] == "https://mail.example"
        assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.sqlite3")
    finally:
        monkeypatch.undo()
        importlib.reload(portal.config)


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_dead_database(tmp_path):
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path}/missing-dir/nope/db.sqlite3")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_unknown_api_route_gets_the_json_error_shape(client):
    response = client.get("/api/v1/nothing-here")
    assert refusal(response) == (404, "not_found")
    assert set(response.json["error"]) >= {"code", "message"}


def test_unknown_page_gets_a_friendly_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert refusal(response) == (404, "not_found")
    assert b"<html" in response.data and b"not valid" in response.data


def test_openapi_document_lists_every_api_route(client, app):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    import re

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in openapi.json"


def test_openapi_schemas_resolve(client):
    document = client.get("/api/v1/openapi.json").json
    text = str(document)
    import re

    for ref in set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text)):
        assert ref in document["components"]["schemas"], ref


def test_the_api_opens_no_cookie_session(app, client, platform_auth):
    from flask import request
    from flask.sessions import NullSession

    with app.test_request_context("/api/v1/openapi.json"):
        assert isinstance(app.session_interface.open_session(app, request), NullSession)
    with app.test_request_context("/f/x"):
        assert not isinstance(app.session_interface.open_session(app, request), NullSession)
    response = client.get("/api/v1/openapi.json", headers=platform_auth)
    assert "Set-Cookie" not in response.headers
