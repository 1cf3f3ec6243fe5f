"""Security headers on every response."""
import pytest
from flask import g


def test_pages_get_a_strict_csp_without_inline_script(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_over_https(client):
    response = client.get("/healthz", base_url="https://portal.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_view_can_open_frame_ancestors_for_its_origins(app):
    @app.get("/framed-test")
    def framed():
        g.frame_ancestors = ["https://shop.example"]
        g.form_action = ["https://shop.example"]
        return "ok"

    csp = app.test_client().get("/framed-test").headers["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example" in csp
    assert "form-action 'self' https://shop.example" in csp


def test_forwarded_proto_is_trusted_only_when_configured(tmp_path):
    from tests.conftest import make_app

    url = f"sqlite:///{tmp_path}/x.sqlite3"
    untrusted = make_app(url).test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    trusted = make_app(url, PORTAL_PROXY_COUNT=1).test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in untrusted.headers
    assert "Strict-Transport-Security" in trusted.headers


def test_the_api_is_exempt_from_the_page_rate_limiter(tmp_path):
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path}/x.sqlite3", RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2/minute")
    client = app.test_client()
    assert [client.get("/api/v1/openapi.json").status_code for _ in range(4)] == [200] * 4
    assert [client.get("/healthz").status_code for _ in range(3)][-1] == 429


@pytest.mark.parametrize("base,secure", [("https://portal.example", True), ("http://127.0.0.1:5000", False)])
def test_a_session_cookie_where_one_remains_is_secure_over_https_httponly_and_lax(app, base, secure):
    from flask import session

    from tests.conftest import make_app

    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PORTAL_BASE_URL=base)
    with other.test_request_context("/"):
        session["probe"] = 1
        response = other.make_response("")
        other.session_interface.save_session(other, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure
    from portal.extensions import db

    with other.app_context():
        db.engine.dispose()
