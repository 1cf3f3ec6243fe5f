"""After erasure: no live links, no lift by any key, and a way back only by the person's new signup."""
import pytest
from sqlalchemy import func, select

from portal import links
from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.privacy import operations
from portal.subscriptions.models import SignupRequest
from portal.subscriptions.operations import find_contact
from portal.tokens import make_token
from tests.conftest import outbox
from tests.pagetools import refusal
from tests.subscriptions.helpers import confirm_path

EMAIL = "erin@example.org"


def _path(url: str) -> str:
    return url.replace("https://portal.test", "")


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(ConsentEvent.id))),
            db.session.scalar(select(func.count(OutboxMessage.id))))


def _send_check(client, auth, mailing_list, email=EMAIL) -> str:
    response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/send-check", headers=auth,
                           json={"list_id": mailing_list.id, "emails": [email]})
    return response.json["results"][0]["reason"]


@pytest.fixture
def erased(create_form, create_contact, create_subscription, client):
    """A person confirmed on two lists, their links (as forwarded before), then erased."""
    form = create_form()
    account = form.account
    from tests.factories import create_list

    second = create_list(account)
    contact = create_contact(account, email=EMAIL)
    create_subscription(contact, form.lists[0])
    create_subscription(contact, second)
    client.post(f"/f/{form.id}", data={"email": EMAIL})  # nothing due (confirmed), but a request exists
    request = SignupRequest(contact_id=contact.id, form_id=form.id, list_ids=[form.lists[0].id])
    db.session.add(request)
    db.session.commit()
    target = links.Target(contact.id, form.lists[0].id, "<m1@platform>")
    saved = {
        "preferences": _path(links.preferences_url(target)),
        "unsubscribe": _path(links.unsubscribe_url(target)),
        "complaint": _path(links.complaint_url(target)),
        "confirm": _path(links.confirm_url(request.id)),
        "erase": f"/erase/{make_token('erase', [contact.id])}",
    }
    saved["data"] = saved["preferences"] + "/data"
    saved["erase_request"] = saved["preferences"] + "/erase"
    operations.erase_contact(db.session.get(type(contact), contact.id), source="erase_link")
    db.session.commit()
    return form, second, contact.id, saved


def test_every_forwarded_link_of_an_erased_person_is_dead(client, erased):
    form, _second, _contact_id, saved = erased
    before = _counts()
    for name, path in saved.items():
        for method, data in (("GET", None), ("POST", {"lists": [form.lists[0].id], "save": "1",
                                                       "scope": "account", "category": "other"})):
            response = client.open(path, method=method, data=data)
            assert refusal(response) == (404, "invalid_link"), (name, method, response.status_code)
            assert "This link is not valid" in response.get_data(as_text=True), (name, method)
    one_click = client.post(saved["unsubscribe"], data="List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded")
    assert refusal(one_click) == (404, "invalid_link")
    assert _counts() == before  # nothing recorded, nothing mailed


def test_no_key_lifts_an_erasure(client, erased, account_auth, platform_auth):
    form, _second, _contact_id, _saved = erased
    for auth in (account_auth(form.account), platform_auth):
        refused = client.delete(f"/api/v1/accounts/{form.account_id}/suppressions/{EMAIL}?reason=x", headers=auth)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "subscriber_suppression"
    assert _send_check(client, platform_auth, form.lists[0]) == "suppressed"


def test_an_erased_person_can_sign_up_again_and_only_their_confirmation_lifts_it(client, erased, platform_auth):
    form, second, old_id, saved = erased
    answer = client.post(f"/f/{form.id}", data={"email": EMAIL})
    assert answer.status_code == 303
    [mail] = outbox("confirmation", recipient=EMAIL)
    assert _send_check(client, platform_auth, form.lists[0]) == "suppressed"  # not until confirmed
    assert client.post(confirm_path(mail)).status_code == 303
    assert _send_check(client, platform_auth, form.lists[0]) == "ok"
    # The person chose this list only: the other stays suppressed; the new contact has new links.
    assert _send_check(client, platform_auth, second) == "suppressed"
    fresh = find_contact(form.account_id, EMAIL)
    assert fresh.id != old_id
    assert refusal(client.get(saved["preferences"])) == (404, "invalid_link")


def test_a_stranger_signing_up_an_erased_address_lifts_nothing(client, erased, platform_auth):
    form, _second, _old_id, _saved = erased
    client.post(f"/f/{form.id}", data={"email": EMAIL})
    assert _send_check(client, platform_auth, form.lists[0]) == "suppressed"
