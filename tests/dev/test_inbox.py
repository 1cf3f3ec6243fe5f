"""The dev inbox never fails: mails whose subject changed or went away are listed and shown.

A re-permission mail from an import is stored as a reference and rendered when it is sent; once
its person confirmed, unsubscribed or was erased, or its account was suspended, it can no longer
be rendered. A sent one is shown as it was sent (the worker's .eml file); the others say why.
"""
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.accounts.operations import change_status
from portal.extensions import db
from portal.imports.operations import worker as import_worker
from portal.outbox import worker as outbox_worker
from portal.outbox.models import OutboxMessage
from portal.privacy.operations import erase_contact
from portal.subscriptions.models import Contact, Subscription
from tests.subscriptions.helpers import signup

development = pytest.mark.app_config(PORTAL_DEVELOPMENT=True)
CONFIRM = re.compile(r'<a href="https://portal\.test(/confirm/[^"]+)">')
STILL_WAITING = "the subscription is no longer waiting for confirmation"


def import_pending(client, account_auth, mailing_list, address="ann@example.org") -> OutboxMessage:
    """Import ``address`` with single opt-in consent: it gets a re-permission mail stored as a reference."""
    consented = (date.today() - timedelta(days=3)).isoformat()
    content = f"email,consented_at\n{address},{consented}\n".encode()
    form = {"file": FileStorage(io.BytesIO(content), filename="contacts.csv", content_type="text/csv"),
            "consent_method": "single_opt_in", "attestation": "Bought from our shop and ticked a box."}
    boundary, body = encode_multipart(form)
    posted = client.post(f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports",
                         data=body, content_type=f"multipart/form-data; boundary={boundary}",
                         headers=account_auth(mailing_list.account))
    assert posted.status_code == 202, posted.json
    import_worker.run_once()
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == address)).one()
    assert row.context is not None and "subject" not in row.payload, "stored as a reference"
    return row


def listed(client) -> str:
    page = client.get("/_dev/mail")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def shown(client, row_id: int) -> str:
    page = client.get(f"/_dev/mail/{row_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def html_part(client, row_id: int):
    return client.get(f"/_dev/mail/{row_id}/html", headers={"Accept": "application/json"})


@development
def test_a_sent_repermission_mail_is_shown_as_sent_after_its_person_confirmed(client, account_auth, create_list):
    mailing_list = create_list(name="Weekly deals")
    row = import_pending(client, account_auth, mailing_list)
    assert outbox_worker.run_once().sent == [row.id]
    before = shown(client, row.id)
    assert "As it was sent" in before and "Weekly deals" in before
    confirm = CONFIRM.search(before).group(1).replace("&amp;", "&")
    assert client.post(confirm).status_code == 303
    assert db.session.scalars(select(Subscription)).one().status == "confirmed"
    after = shown(client, row.id)  # rendering it now would be refused: it is read as sent
    assert "As it was sent" in after and "Weekly deals" in after and CONFIRM.search(after).group(1) == confirm
    subject = re.search(r"<h1>(.*?)</h1>", after).group(1)
    assert mailing_list.account.name in subject and subject in listed(client)
    assert html_part(client, row.id).status_code == 200


def confirm_by_link(client, row):
    page = shown(client, row.id)
    assert "Not sent yet" in page
    assert client.post(CONFIRM.search(page).group(1).replace("&amp;", "&")).status_code == 303


def unsubscribe(client, row):
    subscription = db.session.scalars(select(Subscription)).one()
    subscription.status = "unsubscribed"
    db.session.commit()


def erase(client, row):
    erase_contact(db.session.scalars(select(Contact)).one())
    db.session.commit()


def suspend(client, row):
    from portal.accounts.models import Account

    change_status(db.session.get(Account, row.account_id), "suspended", reason="complaints")
    db.session.commit()


ERASED = "the recipient was erased"


@development
@pytest.mark.parametrize("change, reason", [
    (confirm_by_link, STILL_WAITING),
    (unsubscribe, STILL_WAITING),
    (erase, ERASED),
    (suspend, "the account may not send"),
], ids=["confirmed", "unsubscribed", "erased", "account-suspended"])
def test_a_repermission_mail_that_can_no_longer_be_rendered_says_why(client, account_auth, create_list, app,
                                                                      change, reason):
    row = import_pending(client, account_auth, create_list(name="Weekly deals"))
    row_id = row.id
    change(client, row)
    for _cancelled_by_the_worker in (False, True):
        page = listed(client)
        assert f'href="/_dev/mail/{row_id}"' in page
        assert f"No longer renderable: {reason}" in page
        mail = shown(client, row_id)
        assert f"No longer renderable: {reason}" in mail and "repermission" in mail
        answer = html_part(client, row_id)
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
        if not _cancelled_by_the_worker:
            report = outbox_worker.run_once()  # the worker cancels it: failed, "cancelled: ..."
            assert row_id not in report.sent and (row_id in report.failed or change is erase)
    failed = db.session.get(OutboxMessage, row_id)
    assert failed.status == "failed"
    if failed.last_error and failed.last_error.startswith("cancelled: "):
        assert failed.last_error in listed(client) and failed.last_error in shown(client, row_id)


@development
def test_an_erased_persons_confirmation_mail_is_listed_without_its_content(client, create_form):
    form = create_form()
    signup(client, form, "ann@example.org")
    row = db.session.scalars(select(OutboxMessage)).one()
    assert "/confirm/" in shown(client, row.id)
    erase_contact(db.session.scalars(select(Contact)).one())
    db.session.commit()
    page = listed(client)
    assert f"No longer renderable: {ERASED}" in page and "ann@example.org" not in page
    mail = shown(client, row.id)
    assert f"No longer renderable: {ERASED}" in mail and "ann@example.org" not in mail
    answer = html_part(client, row.id)
    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"


@development
def test_a_sent_mail_whose_file_is_gone_is_rendered_now(client, create_form, app):
    import glob
    import os

    form = create_form()
    signup(client, form, "ann@example.org")
    assert outbox_worker.run_once().sent
    assert "As it was sent" in shown(client, db.session.scalars(select(OutboxMessage)).one().id)
    for path in glob.glob(os.path.join(app.config["PORTAL_OUTBOX_DIR"], "*.eml")):
        os.remove(path)
    page = shown(client, db.session.scalars(select(OutboxMessage)).one().id)
    assert "its .eml file is gone" in page and "ann@example.org" in page
