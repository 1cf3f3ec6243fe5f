"""An undo undoes exactly its own unsubscribe event: tried as the customer would, with links its
account key mints, posting the pages itself (and against what the person did on their own)."""
from sqlalchemy import func, select

from portal.consent.models import ConsentEvent, EventType
from portal.extensions import db as _db
from portal.subscriptions.models import SubscriptionStatus
from portal.suppression.models import SuppressionChange
from portal.tokens import make_token
from tests.conftest import outbox
from tests.pagetools import form_to, refusal
from tests.subscriptions.helpers import confirm_path

ONE_CLICK = "List-Unsubscribe=One-Click"


def _path(url: str) -> str:
    return url.replace("https://portal.test", "")


def _minted_unsubscribe(client, auth, person) -> str:
    """The unsubscribe link the customer's key gets for the person (as for any send)."""
    response = client.post(f"/api/v1/accounts/{person.contact.account_id}/unsubscribe-links", headers=auth,
                           json={"list_id": person.list_id, "recipients": [{"email": person.contact.email}]})
    assert response.status_code == 200
    return _path(response.json["recipients"][0]["unsubscribe_url"])


def _send_check(client, auth, person, list_id=None) -> str:
    response = client.post(f"/api/v1/accounts/{person.contact.account_id}/send-check", headers=auth,
                           json={"list_id": list_id or person.list_id, "emails": [person.contact.email]})
    return response.json["results"][0]["reason"]


def _leave_on_page(client, path: str, scope: str) -> str:
    """GET an unsubscribe page and post its form with ``scope`` (the customer posts it even when the
    page shows that the person already left); the answer page."""
    from portal.antiforgery import form_value

    html = client.get(path).get_data(as_text=True)
    if "Stop receiving" in html:  # the choice, not the page of where the person stands
        action, fields = form_to(html, "/unsubscribe/")
    else:
        with client.application.test_request_context():
            action, fields = path, {"csrf_token": form_value("unsubscribe", path.rsplit("/", 1)[1])}
    page = client.post(action, data={**fields, "scope": scope})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _customer_leaves_and_undoes(client, auth, person) -> str:
    """The customer's trick: its own "this list" unsubscribe on a minted link, then its undo if offered."""
    page = _leave_on_page(client, _minted_unsubscribe(client, auth, person), "list")
    if "/undo" in page:
        undo_action, undo_fields = form_to(page, "/undo")
        client.post(undo_action, data=undo_fields)
    return page


def _latest_unsubscribe(person) -> ConsentEvent:
    return person.events(EventType.UNSUBSCRIBED)[-1]


def test_after_the_person_left_everything_the_customers_own_unsubscribe_offers_no_undo(cookieless, subscriber,
                                                                                        account_auth):
    person = subscriber()
    auth = account_auth(person.subscription.list.account)
    _leave_on_page(cookieless, person.path, "account")  # the person, on their own page
    page = _customer_leaves_and_undoes(cookieless, auth, person)
    # Its event changed no subscription: there is nothing an undo could give back, so none is offered.
    assert "You are unsubscribed" in page and "/undo" not in page
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    assert person.events(EventType.RESUBSCRIBED) == []
    assert _send_check(cookieless, auth, person) == "suppressed"
    assert sorted((e.scope, e.reason) for e in person.suppressions()) == [("account", "unsubscribed"),
                                                                          ("list", "unsubscribed")]


def test_a_genuine_undo_of_an_event_that_changed_no_subscription_lifts_only_its_own_entry(cookieless, subscriber,
                                                                                          account_auth):
    person = subscriber()
    auth = account_auth(person.subscription.list.account)
    _leave_on_page(cookieless, person.path, "account")
    path = _minted_unsubscribe(cookieless, auth, person)
    _leave_on_page(cookieless, path, "list")
    event = _latest_unsubscribe(person)
    token = make_token("undo", [person.contact.id, event.id])
    undone = cookieless.post(path + "/undo", data={"csrf_token": _undo_value(cookieless, path), "undo": token})
    assert undone.status_code == 200
    # Only the list entry this event added is gone; the person's account-wide opt-out and their
    # left list are as the person left them.
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    assert [(e.scope, e.reason) for e in person.suppressions()] == [("account", "unsubscribed")]
    assert _send_check(cookieless, auth, person) == "suppressed"
    assert person.events(EventType.RESUBSCRIBED) == []
    [lifted] = person.events(EventType.UNSUPPRESSED)
    assert lifted.evidence["undo_of"] == event.id and lifted.list_id == person.list_id


def test_the_two_step_attack_never_makes_a_list_the_person_left_mailable(cookieless, subscriber, account_auth,
                                                                         create_form):
    """The audit's chain: the person leaves everything; the customer unsubscribes-and-undoes on A;
    the person later confirms list B only; the customer does it again on A."""
    person = subscriber()
    account = person.subscription.list.account
    auth = account_auth(account)
    _leave_on_page(cookieless, person.path, "account")
    _customer_leaves_and_undoes(cookieless, auth, person)
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    # The person's own choice, later: list B through a form, confirmed by the mail's button.
    form_b = create_form(account=account)
    cookieless.post(f"/f/{form_b.id}", data={"email": person.contact.email})
    [mail] = outbox("confirmation", recipient=person.contact.email)
    fields = form_to(cookieless.get(confirm_path(mail)).get_data(as_text=True), "/confirm/")[1]
    assert cookieless.post(confirm_path(mail), data=fields, follow_redirects=False).status_code == 303
    assert _send_check(cookieless, auth, person, form_b.lists[0].id) == "ok"
    assert _send_check(cookieless, auth, person) == "suppressed"
    page = _customer_leaves_and_undoes(cookieless, auth, person)
    assert "/undo" not in page
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    assert _send_check(cookieless, auth, person) == "suppressed"
    assert [(e.scope, e.reason) for e in person.suppressions() if e.list_id == person.list_id] == [
        ("list", "unsubscribed")]
    assert [e.list_id for e in person.events(EventType.RESUBSCRIBED)] == []
    # B stays as the person chose it.
    assert _send_check(cookieless, auth, person, form_b.lists[0].id) == "ok"


def test_an_undo_lifts_only_the_entry_its_event_added_and_rejoins_only_what_it_ended(cookieless, subscriber,
                                                                                      account_auth):
    """The person is on A and B; they one-click out of A, then leave everything from B's page and
    undo that: B comes back; A, left before that event, stays left with its own entry."""
    person_a = subscriber()
    person_b = subscriber(contact=person_a.contact)  # a second list of the same account
    auth = account_auth(person_a.subscription.list.account)
    cookieless.post(person_a.path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    page = _leave_on_page(cookieless, person_b.path, "account")
    event = _latest_unsubscribe(person_b)
    assert event.list_id is None and event.evidence["restorable"]["lists"] == [person_b.list_id]
    action, fields = form_to(page, "/undo")
    assert cookieless.post(action, data=fields).status_code == 200
    assert person_b.status == SubscriptionStatus.CONFIRMED and _send_check(cookieless, auth, person_b) == "ok"
    assert person_a.status == SubscriptionStatus.UNSUBSCRIBED and _send_check(cookieless, auth, person_a) == "suppressed"
    assert [(e.scope, e.reason, e.list_id) for e in person_a.suppressions()] == [
        ("list", "unsubscribed", person_a.list_id)]
    removed = _db.session.scalars(select(SuppressionChange).where(SuppressionChange.op == "remove")).all()
    assert [(r.scope, r.source) for r in removed] == [("account", f"undo:{event.id}")]
    # Once: the same undo again changes nothing more.
    assert refusal(cookieless.post(action, data=fields)) == (404, "invalid_link")
    assert person_a.status == SubscriptionStatus.UNSUBSCRIBED


def test_a_pending_subscription_ended_by_everything_is_not_turned_into_a_confirmed_one(cookieless, subscriber,
                                                                                       create_form, account_auth):
    """Undo gives back exactly the prior state: a signup never confirmed is not confirmed by an undo."""
    person = subscriber()
    auth = account_auth(person.subscription.list.account)
    form = create_form(account=person.subscription.list.account)
    cookieless.post(f"/f/{form.id}", data={"email": person.contact.email})  # pending on a second list
    page = _leave_on_page(cookieless, person.path, "account")
    action, fields = form_to(page, "/undo")
    assert cookieless.post(action, data=fields).status_code == 200
    assert person.status == SubscriptionStatus.CONFIRMED
    assert _send_check(cookieless, auth, person, form.lists[0].id) != "ok"
    resubscribed = {e.list_id for e in person.events(EventType.RESUBSCRIBED)}
    assert resubscribed == {person.list_id, None}


def test_every_undo_answer_is_the_same_whatever_the_state_of_the_address(cookieless, subscriber, account_auth):
    """A dead undo token answers the same invalid-link page whether the person is still out,
    back in (by their own undo) or left everything since."""
    person = subscriber()
    page = _leave_on_page(cookieless, person.path, "list")
    action, fields = form_to(page, "/undo")
    forged = {**fields, "undo": fields["undo"][:-2] + ("AA" if not fields["undo"].endswith("AA") else "BB")}
    answers = [_body(cookieless.post(action, data=forged))]  # still unsubscribed
    assert cookieless.post(action, data=fields).status_code == 200  # back in
    answers.append(_body(cookieless.post(action, data=forged)))
    answers.append(_body(cookieless.post(action, data=fields)))  # replayed
    _leave_on_page(cookieless, person.path, "account")  # left everything since
    answers.append(_body(cookieless.post(action, data=forged)))
    answers.append(_body(cookieless.post(action, data=fields)))
    assert {status for status, _text in answers} == {404}
    assert len({text for _status, text in answers}) == 1
    assert "This link is not valid" in answers[0][1]


def _body(response) -> tuple[int, str]:
    return response.status_code, response.get_data(as_text=True)


def _undo_value(client, path: str) -> str:
    from portal.antiforgery import form_value

    with client.application.test_request_context():
        return form_value("undo", path.rsplit("/", 1)[1])


def test_no_undo_event_is_written_twice(cookieless, subscriber):
    person = subscriber()
    action, fields = form_to(_leave_on_page(cookieless, person.path, "list"), "/undo")
    cookieless.post(action, data=fields)
    cookieless.post(action, data=fields)
    count = _db.session.scalar(select(func.count(ConsentEvent.id)).where(
        ConsentEvent.contact_id == person.contact.id, ConsentEvent.type == EventType.RESUBSCRIBED))
    assert count == 1
