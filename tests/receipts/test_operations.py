"""The receipt operations called directly: the document is built from the ledger and writes nothing."""
import pytest
from sqlalchemy import func, select

from portal import links
from portal.consent.evidence import RequestEvidence
from portal.consent.models import ConsentEvent
from portal.consent.operations import events_for_contact
from portal.errors import TokenInvalid
from portal.extensions import db
from portal.receipts import operations
from portal.signup import operations as signup
from portal.subscriptions.models import Contact


@pytest.fixture
def confirmed(create_form):
    """A contact who confirmed one list of a form through the real double opt-in."""
    form = create_form(consent_text="Ya, kirimi saya kabar mingguan.")
    request = signup.request_signup(form, email="dewi@example.org", evidence=RequestEvidence(ip="203.0.113.9"))
    signup.confirm(request.id, evidence=RequestEvidence(ip="203.0.113.10"))
    db.session.commit()
    return db.session.get(Contact, request.contact_id)


def test_the_receipt_names_each_confirmed_list_with_the_ledger_events_that_prove_it(confirmed):
    document = operations.receipt(confirmed)

    [service] = document["services"]
    requested, confirmation = [e for e in events_for_contact(confirmed.id) if e.type in ("signup_requested",
                                                                                          "confirmed")]
    assert [(e["id"], e["type"], e["hash"]) for e in service["ledger_events"]] == [
        (e.id, e.type, e.hash) for e in (requested, confirmation)]
    assert service["consent_text"]["id"] == confirmation.consent_text_id
    assert document["pii_principal_id"] == "dewi@example.org" and document["language"] == "en"


def test_only_confirmed_subscriptions_are_on_the_receipt(confirmed, create_list, create_subscription):
    pending = create_subscription(confirmed, create_list(confirmed.account), status="pending")
    left = create_subscription(confirmed, create_list(confirmed.account), status="unsubscribed")

    list_ids = [service["list_id"] for service in operations.receipt(confirmed)["services"]]
    assert pending.list_id not in list_ids and left.list_id not in list_ids and len(list_ids) == 1


def test_the_receipt_id_changes_with_the_consents_it_holds(confirmed, create_list, create_subscription):
    before = operations.receipt(confirmed)["consent_receipt_id"]
    assert operations.receipt(confirmed)["consent_receipt_id"] == before  # the same consents: the same id
    create_subscription(confirmed, create_list(confirmed.account))
    db.session.expire_all()
    assert operations.receipt(db.session.get(Contact, confirmed.id))["consent_receipt_id"] != before


def test_building_a_receipt_writes_nothing(confirmed):
    count = db.session.scalar(select(func.count()).select_from(ConsentEvent))
    operations.receipt(confirmed, language="id")
    db.session.flush()
    assert not db.session.new and not db.session.dirty
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == count


def test_a_receipt_token_names_its_contact_and_any_other_token_is_refused(confirmed):
    assert operations.contact_for_receipt("receipt", operations.receipt_token(confirmed.id)).id == confirmed.id
    token = operations.receipt_token(confirmed.id)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    another_purpose = links.target_token("preferences", links.Target(confirmed.id))
    for refused in (tampered, another_purpose, operations.receipt_token(987654)):
        with pytest.raises(TokenInvalid) as caught:
            operations.contact_for_receipt("receipt", refused)
        assert caught.value.code == "invalid_link"
