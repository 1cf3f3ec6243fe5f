"""Who a mail is from: the account via the platform, on the platform's sending domain (SPEC section 6),
the platform's own notices from the platform, and no header injected through an account's name."""
from __future__ import annotations

from email.header import decode_header, make_header
from email.utils import getaddresses

import pytest

from portal.accounts.models import Account
from portal.complaints.emails import queue_warning
from portal.extensions import db
from portal.outbox import identity, worker
from tests.conftest import other_app
from tests.subscriptions.helpers import signup

PLATFORM = {"PORTAL_PLATFORM_NAME": "Kirim Kabar", "PORTAL_MAIL_FROM_DOMAIN": "mail.kirimkabar.example",
            "MAIL_DEFAULT_SENDER": "Kirim Kabar <no-reply@kirimkabar.example>"}


def _deliver(app, smtp_server):
    """Run the worker against the SMTP sink; the messages it received and their envelopes."""
    with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
                   **{key: app.config[key] for key in PLATFORM}):
        assert worker.run_once().sent
    return smtp_server.messages, smtp_server.envelopes


def _from(message) -> tuple[str, str]:
    """The From header's name and address, decoded as RFC 2047 says (adjacent encoded words joined)."""
    [raw] = [value for name, value in message.raw_items() if name.lower() == "from"]
    [(name, address)] = getaddresses([raw.replace("\r\n", "").replace("\n", "")])
    return str(make_header(decode_header(name))), address


def _rename(account_id: str, **values) -> None:
    account = db.session.get(Account, account_id)
    for name, value in values.items():
        setattr(account, name, value)
    db.session.commit()


@pytest.mark.app_config(**PLATFORM)
def test_a_confirmation_comes_from_the_account_via_the_platform_on_its_domain(app, client, create_form, smtp_server):
    form = create_form()
    _rename(form.account_id, name="Kopi Nusantara", contact_email="hello@kopi.example")
    signup(client, form)
    [message], [envelope] = _deliver(app, smtp_server)
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Kopi Nusantara via Kirim Kabar", "no-reply@mail.kirimkabar.example")
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["hello@kopi.example"]
    assert message["Message-ID"].endswith("@mail.kirimkabar.example>")
    assert envelope.mail_from == "no-reply@mail.kirimkabar.example"  # SPF checks this one: the same domain


@pytest.mark.app_config(PORTAL_PLATFORM_NAME="Kirim Kabar", MAIL_DEFAULT_SENDER="Kirim Kabar <mailer@send.example>",
                        PORTAL_MAIL_FROM_DOMAIN=None)
def test_without_a_from_domain_the_default_senders_domain_is_the_sending_domain(app):
    sender = identity.on_behalf_of("Kopi", "hello@kopi.example")
    assert sender == {"name": "Kopi via Kirim Kabar", "address": "mailer@send.example", "reply_to": "hello@kopi.example"}
    assert identity.message_id().endswith("@send.example>")


@pytest.mark.app_config(**PLATFORM)
def test_the_platforms_own_notice_to_a_customer_comes_from_the_platform(app, create_account, smtp_server):
    account = create_account(name="Kopi Nusantara")
    queue_warning(account, None, {})
    db.session.commit()
    [message], [envelope] = _deliver(app, smtp_server)
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Kirim Kabar", "no-reply@kirimkabar.example")
    assert message["Reply-To"] is None and envelope.mail_from == "no-reply@kirimkabar.example"


@pytest.mark.parametrize("name,shown", [
    ("Evil\r\nBcc: victim@example.org", "Evil Bcc: victim@example.org"),
    ("Evil\nX-Injected: yes", "Evil X-Injected: yes"),
    ("Evil\u2028Subject: win", "Evil Subject: win"),
    ('Ann "The Boss" <boss@evil.example>, Ltd.', 'Ann "The Boss" <boss@evil.example>, Ltd.'),
    ("Kopi Énak ☕ Jakarta", "Kopi Énak ☕ Jakarta"),
    ("=?utf-8?q?Fake?= Bank", "=?utf-8?q?Fake?= Bank"),
    ("A" * 200, "A" * identity.MAX_NAME),  # the longest name an account holds, cut
])
@pytest.mark.app_config(**PLATFORM)
def test_an_account_name_cannot_add_headers_and_reads_back_as_given(app, client, create_form, smtp_server, name, shown):
    form = create_form()
    _rename(form.account_id, name=name, contact_email="hello@kopi.example\r\nBcc: victim@example.org")
    signup(client, form)
    [message], [envelope] = _deliver(app, smtp_server)
    assert {key.lower() for key in message.keys()}.isdisjoint({"bcc", "x-injected"})
    assert len(message.get_all("From")) == 1 and len(message.get_all("Subject")) == 1
    assert _from(message) == (f"{shown} via Kirim Kabar", "no-reply@mail.kirimkabar.example")
    assert message["From"].addresses[0].addr_spec == "no-reply@mail.kirimkabar.example"
    assert message["Reply-To"] is None  # a contact address that is not one plain address is left out
    assert envelope.rcpt_tos == ["ann@example.org"]


@pytest.mark.parametrize("value,kept", [
    ("hello@kopi.example", "hello@kopi.example"),
    ("Kopi <hello@kopi.example>", None),
    ("a@kopi.example, b@evil.example", None),
    ("hello@kopi.example\nBcc: x@evil.example", None),
    ("not an address", None),
    ("", None),
])
def test_reply_to_is_one_plain_address_or_nothing(app, value, kept):
    assert identity.single_address(value) == kept


def test_a_name_is_one_clean_line(app):
    assert identity.clean_name(" Kopi\t\r\n  Nusantara\x00\u200b ") == "Kopi Nusantara"
    assert identity.from_header('Kopi "Best", Ltd.', "a@send.example") == '"Kopi \\"Best\\", Ltd." <a@send.example>'
    assert identity.from_header("Kopi Énak", "a@send.example").startswith("=?utf-8?")
    assert identity.one_line("a\r\nb") == "a b" and identity.clean_name("x " * 80) == " ".join(["x"] * 50)


@pytest.mark.app_config(**PLATFORM)
def test_a_link_to_manage_subscriptions_comes_from_the_account_via_the_platform(app, client, create_contact,
                                                                                smtp_server):
    from portal.preferences.recovery import form_token

    contact = create_contact(email="ann@example.org")
    _rename(contact.account_id, name="PT Kopi Nusantara", display_name="Kopi", contact_email="hello@kopi.example")
    assert client.post("/manage?lang=id", data={"email": "ann@example.org", "sender": form_token(None)}).status_code == 303
    [message], [envelope] = _deliver(app, smtp_server)
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Kopi via Kirim Kabar", "no-reply@mail.kirimkabar.example")
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["hello@kopi.example"]
    text = message.get_body(("plain",)).get_content()
    assert "Kopi" in message["Subject"] and text.count("?lang=id") == 1 and "lang=id?lang" not in text
