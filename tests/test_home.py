"""GET /: what the service is, links to the docs; the dev pages only in development; no account data."""
import pytest


def test_home_says_what_this_is_and_links_the_docs(client, create_account):
    account = create_account(name="Secret Shop")
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Consent portal</h1>" in html
    assert 'href="/api/v1/docs"' in html and 'href="/api/v1/openapi.json"' in html
    assert "/_dev/" not in html
    assert account.name not in html and account.id not in html


def test_home_is_translated(client):
    html = client.get("/?lang=id").get_data(as_text=True)
    assert 'lang="id"' in html and "Dokumentasi API" in html


@pytest.mark.app_config(PORTAL_DEVELOPMENT=True)
def test_home_links_the_dev_pages_in_development(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/_dev/mail"' in html and 'href="https://localhost/_dev/site"' in html
