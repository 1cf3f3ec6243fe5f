"""Errors people understand on "send me a link to manage my subscriptions" (issue 20): the plain
message in the page's language on the address field, the summary, "Error:" in the title, no mail."""
from __future__ import annotations

import pytest

from portal.preferences.recovery import form_token
from tests.conftest import outbox
from tests.subscriptions.test_plain_errors import DOMAIN, EMPTY, FORMAT, TOO_LONG, assert_marked

CASES = [("", EMPTY), ("ann@@example.org", FORMAT), ("a@" + "b" * 250 + ".org", TOO_LONG), ("ann@localhost", DOMAIN)]


@pytest.mark.parametrize("locale", ["en", "id"])
@pytest.mark.parametrize(("email", "messages"), CASES, ids=["empty", "format", "too-long", "reserved-domain"])
def test_each_refusal_is_plain_translated_and_marked(client, create_contact, locale, email, messages):
    create_contact(email="ann@example.org")
    response = client.post(f"/manage?lang={locale}", data={"email": email, "sender": form_token(None)})
    assert response.status_code == 422
    assert_marked(response.get_data(as_text=True), "email", messages[locale], locale)
    assert outbox() == []


def test_the_page_without_errors_has_no_summary(client):
    page = client.get("/manage").get_data(as_text=True)
    assert "error-summary" not in page and "aria-invalid" not in page and "<title>Error:" not in page
