"""What regulators ask the ledger to keep: the signup's locale and the address as typed."""
from portal.consent.operations import verify
from portal.consent.evidence import RequestEvidence
from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.subscriptions.models import Contact
from tests.subscriptions.helpers import signup


def test_the_signup_event_keeps_the_locale_and_the_address_as_submitted(client, create_form, runner):
    form = create_form()
    response = client.post(f"/f/{form.id}?lang=id", data={"email": "Ann.Lee@EXAMPLE.Org"})
    assert response.status_code in (200, 303)
    contact = db.session.query(Contact).one()
    assert contact.email == "Ann.Lee@example.org"
    event = db.session.query(ConsentEvent).filter_by(type="signup_requested").one()
    assert event.email == "Ann.Lee@EXAMPLE.Org" and event.evidence["locale"] == "id"
    assert verify().ok


def test_the_address_as_submitted_is_redacted_with_the_rest(client, create_form):
    from portal.privacy.operations import erase_contact

    form = create_form()
    signup(client, form, "Bo@EXAMPLE.org")
    erase_contact(db.session.query(Contact).one())
    db.session.commit()
    event = db.session.query(ConsentEvent).filter_by(type="signup_requested").one()
    assert event.email is None and event.redacted_at is not None
    assert verify().ok


def test_a_rejoin_from_the_preference_centre_keeps_the_locale(create_list, create_contact):
    """The other writer of ``signup_requested``: its page's language is kept as a form signup's is."""
    from portal import links
    from portal.preferences.operations import request_rejoin
    from portal.subscriptions.holders import holder_of

    mailing_list = create_list()
    contact = create_contact(mailing_list.account)
    holder = holder_of(links.Target(contact.id))
    request = request_rejoin(holder, [mailing_list.id], RequestEvidence(source="preferences", ip="203.0.113.5"),
                             source="preferences", locale="id")
    db.session.commit()
    assert request is not None
    event = db.session.query(ConsentEvent).filter_by(type="signup_requested").one()
    assert event.evidence["locale"] == "id" and event.evidence["channel"] == "preferences"
    assert verify().ok
