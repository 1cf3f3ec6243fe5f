"""The list, form, contact and subscription operations called directly."""
import pytest
from sqlalchemy import select

from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.subscriptions import operations
from portal.subscriptions.models import Contact, MailingList, Subscription


def test_create_list_keeps_its_translations_and_only_flushes(create_account):
    account = create_account(locale="en")
    mailing_list = operations.create_list(account, name="News", description="Weekly",
                                          translations={"id": {"name": "Kabar", "description": ""}})

    stored = db.session.get(MailingList, mailing_list.id)
    assert (stored.account_id, stored.name, stored.description) == (account.id, "News", "Weekly")
    assert stored.translations == {"id": {"name": "Kabar"}}  # an empty field is left out
    db.session.rollback()
    assert db.session.scalars(select(MailingList)).all() == []


@pytest.mark.parametrize("translations", [{"fr": {"name": "Nouvelles"}}, {"en": {"name": "News"}}])
def test_a_translation_in_an_unsupported_or_the_accounts_own_language_is_refused(create_account, translations):
    with pytest.raises(ValidationFailed) as caught:
        operations.create_list(create_account(locale="en"), name="News", translations=translations)
    assert caught.value.code == "validation_failed"
    assert caught.value.details[0]["loc"] == ["translations", next(iter(translations))]
    assert db.session.scalars(select(MailingList)).all() == []


def test_update_list_replaces_the_given_fields_and_refuses_others(create_list):
    mailing_list = create_list(name="Old", translations={"id": {"name": "Lama"}})
    operations.update_list(mailing_list, name="New", description=None, translations={"id": None})
    assert (mailing_list.name, mailing_list.description, mailing_list.translations) == ("New", None, {})
    with pytest.raises(ValidationFailed) as caught:
        operations.update_list(mailing_list, account_id="elsewhere")
    assert caught.value.code == "validation_failed" and mailing_list.account_id != "elsewhere"


def test_create_form_makes_version_one_of_its_consent_text_in_each_language(create_list):
    mailing_list = create_list()
    account = mailing_list.account
    form = operations.create_form(account, name="Footer", list_ids=[mailing_list.id, mailing_list.id],
                                  allowed_origins=["https://Shop.Example:443"], redirect_url="https://shop.example/t",
                                  consent_text="Yes, mail me.", translations={"id": {"consent_text": "Ya, kirimi saya.",
                                                                                     "heading": "Daftar"}})

    assert [item.id for item in form.lists] == [mailing_list.id]  # named twice, joined once
    assert form.allowed_origins == ["https://shop.example"] and form.redirect_url == "https://shop.example/t"
    assert form.translations == {"id": {"heading": "Daftar"}}
    assert sorted((t.version, t.locale, t.text) for t in form.current_consent_texts) == [
        (1, "en", "Yes, mail me."), (1, "id", "Ya, kirimi saya.")]


@pytest.mark.parametrize("change, error, code", [
    ({"list_ids": []}, ValidationFailed, "validation_failed"),
    ({"list_ids": ["foreign"]}, NotFound, "not_found"),  # another account's list is no list of this one
    ({"allowed_origins": ["javascript:alert(1)"]}, ValidationFailed, "validation_failed"),
    ({"redirect_url": "https://elsewhere.example/t"}, ValidationFailed, "validation_failed"),
])
def test_create_form_refuses_a_form_it_could_not_serve_safely(create_list, change, error, code):
    mailing_list, foreign = create_list(), create_list()
    values = {"name": "Footer", "list_ids": [mailing_list.id], "allowed_origins": ["https://shop.example"], **change}
    values["list_ids"] = [foreign.id if item == "foreign" else item for item in values["list_ids"]]
    with pytest.raises(error) as caught:
        operations.create_form(mailing_list.account, **values)
    assert caught.value.code == code


def test_update_form_makes_a_new_consent_version_only_when_the_words_change(create_form):
    form = create_form(consent_text="Yes, mail me.")
    operations.update_form(form, consent_text="Yes, mail me.", name="Renamed")
    assert form.name == "Renamed" and {t.version for t in form.current_consent_texts} == {1}

    operations.update_form(form, consent_text="Yes, mail me weekly.")
    assert [(t.version, t.text) for t in form.current_consent_texts] == [(2, "Yes, mail me weekly.")]
    with pytest.raises(ValidationFailed) as caught:
        operations.update_form(form, account_id="elsewhere")
    assert caught.value.code == "validation_failed"


def test_get_or_create_contact_normalises_the_address_and_finds_it_again_in_any_case(create_account):
    account = create_account()
    contact = operations.get_or_create_contact(account, "  Ann@Example.ORG ", name="Ann")

    assert (contact.account_id, contact.email, contact.name) == (account.id, "Ann@example.org", "Ann")
    assert operations.get_or_create_contact(account, "ann@EXAMPLE.org").id == contact.id
    assert operations.get_or_create_contact(create_account(), "ann@example.org").id != contact.id  # per account
    assert len(db.session.scalars(select(Contact)).all()) == 2


def test_the_state_machine_moves_along_its_transitions_and_refuses_the_others(create_contact, create_list):
    contact = create_contact()
    subscription, created = operations.get_or_create_subscription(contact, create_list(contact.account))
    assert created and subscription.status is None

    assert operations.apply(subscription, "request") and subscription.status == "pending"
    assert operations.apply(subscription, "confirm") and subscription.confirmed_at is not None
    assert operations.apply(subscription, "confirm") is False  # already there: a repeat does nothing
    assert operations.apply(subscription, "unsubscribe") and subscription.unsubscribed_at is not None
    with pytest.raises(Conflict) as caught:
        operations.apply(subscription, "decline")
    assert caught.value.code == "invalid_transition" and subscription.status == "unsubscribed"
    assert operations.apply(subscription, "resubscribe") and subscription.unsubscribed_at is None
    assert db.session.get(Subscription, subscription.id).status == "confirmed"
