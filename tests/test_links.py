"""portal.links makes and reads every token; links mailed before it did (made by portal.tokens
directly, with the same purpose and payload) still work, and what it makes now is byte for byte
what was made then."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal import links, tokens
from portal.errors import TokenExpired, TokenInvalid
from portal.subscriptions import holders


def test_erase_links_made_the_old_way_are_accepted(create_contact):
    contact = create_contact()
    old = tokens.make_token("erase", [contact.id])
    assert links.load_erase(old) == links.Target(contact.id)
    assert holders.resolve("erase", old).contact.id == contact.id
    assert links.erase_url(contact.id).endswith(f"/erase/{old}")


def test_undo_tokens_made_the_old_way_are_accepted(app):
    old = tokens.make_token("undo", [7, 42])
    assert links.load_undo(old) == (7, 42)
    assert links.undo_token(7, 42) == old


@pytest.mark.parametrize("account_id", ["acc_1", None])
def test_manage_values_made_the_old_way_are_accepted(app, account_id):
    old = tokens.make_token("manage", [account_id] if account_id else [])
    assert links.load_manage(old) == account_id
    assert links.manage_token(account_id) == old


@pytest.mark.parametrize("purpose", ["unsubscribe", "preferences", "complaint", "receipt"])
def test_subscriber_links_made_the_old_way_are_accepted(create_subscription, purpose):
    subscription = create_subscription()
    old = tokens.make_token(purpose, [subscription.contact_id, subscription.list_id])
    holder = holders.resolve(purpose, old)
    assert (holder.contact.id, holder.mailing_list.id) == (subscription.contact_id, subscription.list_id)
    assert links.target_token(purpose, links.Target(subscription.contact_id, subscription.list_id)) == old


@pytest.mark.parametrize("load, payload", [
    (links.load_erase, []), (links.load_erase, ["1"]), (links.load_erase, [1, 2]),
    (links.load_undo, [1]), (links.load_undo, [1, "2"]), (links.load_undo, {"a": 1}),
    (links.load_manage, [1]), (links.load_manage, ["a", "b"])])
def test_a_well_signed_token_of_another_shape_is_invalid(app, load, payload):
    purpose = {links.load_erase: "erase", links.load_undo: "undo", links.load_manage: "manage"}[load]
    with pytest.raises(TokenInvalid) as refused:
        load(tokens.make_token(purpose, payload))
    assert refused.value.code == "invalid_link"


@pytest.mark.parametrize("load", [links.load_erase, links.load_undo, links.load_manage])
def test_a_token_of_another_purpose_is_invalid(app, load):
    with pytest.raises(TokenInvalid) as refused:
        load(tokens.make_token("confirm", [1]))
    assert refused.value.code == "invalid_link"


def test_an_expired_erase_link_names_its_contact_and_sender(app, create_contact):
    contact = create_contact()
    token = links.erase_url(contact.id).rsplit("/", 1)[1]
    app.config["PORTAL_CONFIRM_MAX_AGE"] = timedelta(seconds=-1)
    with pytest.raises(TokenExpired) as expired:
        links.load_erase(token)
    assert expired.value.payload == links.Target(contact.id)
    with pytest.raises(TokenExpired) as expired:
        holders.resolve("erase", token)
    assert expired.value.code == "expired_link" and expired.value.account.id == contact.account_id


def test_an_expired_undo_token_keeps_its_pair(app):
    token = links.undo_token(7, 42)
    app.config["PORTAL_UNDO_MAX_AGE"] = timedelta(seconds=-1)
    with pytest.raises(TokenExpired) as expired:
        links.load_undo(token)
    assert expired.value.payload == (7, 42)
