"""Errors people understand, in Chromium (issue 20): a wrong address on the hosted signup form at
phone width in Bahasa Indonesia gets the summary, the marked field and "Error:" in the title, and
passes axe-core with no serious or critical violation."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.subscriptions.models import Contact
from tests.browser.conftest import check_page

pytestmark = pytest.mark.browser

FORMAT_ID = "Masukkan alamat email dengan format yang benar, misalnya nama@contoh.com"


def test_a_wrong_address_at_phone_width_in_indonesian(app, live_server, open_page, create_form):
    form = create_form()
    form_id, sender = form.id, (form.account.name, form.account.postal_address)
    db.session.commit()
    page = open_page("phone", "id")
    page.goto(f"{live_server.url}/f/{form_id}?lang=id")
    page.fill("#email", "ann@@example.org")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert page.title().startswith("Kesalahan: ")
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    assert summary.locator("h2").inner_text().strip() == "Ada masalah"
    link = summary.locator("a")
    assert link.count() == 1 and link.inner_text().strip() == FORMAT_ID and link.get_attribute("href") == "#email"
    field = page.locator("#email")
    assert field.get_attribute("aria-invalid") == "true" and field.input_value() == "ann@@example.org"
    message = page.locator("#" + field.get_attribute("aria-describedby"))
    assert message.is_visible() and FORMAT_ID in message.inner_text()
    assert message.bounding_box()["y"] < field.bounding_box()["y"]  # above the input
    check_page(page, "signup-error", "id", sender)
    link.click()
    page.wait_for_url(re.compile(r"#email$"))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
