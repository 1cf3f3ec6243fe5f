"""Every subscriber page under the strict CSP: nothing inline, framing only for a form's origins, CSRF."""
import re

from tests.conftest import other_app
from tests.test_i18n import _paths, request


def _csp(response) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in response.headers["Content-Security-Policy"].split("; ")}


def test_hosted_form_may_be_framed_only_by_its_allowed_origins(app, client, create_form):
    framed = create_form(allowed_origins=["https://shop.example", "https://blog.example"],
                         redirect_url="https://shop.example/thanks")
    alone = create_form()
    for path in (f"/f/{framed.id}", f"/f/{framed.id}/thanks"):
        csp = _csp(request(app, client, "GET", path))
        assert csp["frame-ancestors"] == "https://shop.example https://blog.example", path
        assert csp["form-action"] == "'self' https://shop.example", path  # the form redirects there
    invalid = request(app, client, "POST", f"/f/{framed.id}", data={"email": "not an address"})
    assert invalid.status_code == 422 and _csp(invalid)["frame-ancestors"].startswith("https://shop.example")
    csp = _csp(request(app, client, "GET", f"/f/{alone.id}"))
    assert csp["frame-ancestors"] == "'none'" and csp["form-action"] == "'self'"
    assert _csp(request(app, client, "GET", "/no-such-page"))["frame-ancestors"] == "'none'"


def test_no_page_has_inline_style_or_script(app, client, db, create_form, create_subscription):
    paths = _paths(create_form, create_subscription)
    db.session.commit()
    for name, path in paths.items():
        response = request(app, client, "GET", path)
        html = response.get_data(as_text=True)
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", html, re.I), name
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], name
        assert "/static/style.css" in html and "Jl. Merdeka 1" in html, name  # the account's address


def test_every_portal_form_carries_a_csrf_token_except_the_cross_site_signup(app, create_form, create_subscription):
    paths = _paths(create_form, create_subscription)
    from portal.extensions import db

    db.session.commit()
    with other_app(app, WTF_CSRF_ENABLED=True) as guarded:
        client = guarded.test_client()
        for name, path in paths.items():
            html = client.get(path).get_data(as_text=True)
            if name in ("signup", "thanks"):
                assert 'name="csrf_token"' not in html, name
            else:
                assert html.count("<form") == html.count('name="csrf_token"') >= 1, name
        # Without the token a person's form POST is refused and changes nothing.
        refused = client.post(paths["preferences"], data={"unsubscribe_all": "1"})
        assert refused.status_code == 400
        assert client.post(paths["complaint"], data={"category": "other"}).status_code == 400
