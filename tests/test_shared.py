"""Shared pieces: suppressions, subscription transitions, links, the SMTP sink, the outbox writer."""
import pytest

from portal import links
from portal.errors import TokenInvalid
from portal.suppression import operations as suppressions
from portal.suppression.models import SuppressionChange
from portal.subscriptions import operations as subs
from portal.subscriptions.models import SubscriptionStatus


def test_suppression_add_is_idempotent_and_fed(app, db, create_account):
    account = create_account()
    first = suppressions.add("Ann@x.org", scope="account", reason="manual", account_id=account.id)
    again = suppressions.add("ann@x.org", scope="account", reason="manual", account_id=account.id)
    db.session.commit()
    assert first is not None and again is None
    assert [e.reason for e in suppressions.entries_for("ANN@x.org", account.id)] == ["manual"]
    suppressions.remove(first, note="asked by phone")
    db.session.commit()
    assert suppressions.entries_for("ann@x.org", account.id) == []
    assert [c.op for c in db.session.query(SuppressionChange).order_by(SuppressionChange.seq)] == ["add", "remove"]


def test_suppression_removal_needs_a_reason(app, create_account):
    account = create_account()
    entry = suppressions.add("b@x.org", scope="global", reason="manual")
    with pytest.raises(Exception):
        suppressions.remove(entry, note=" ")


def test_list_scope_only_counts_for_its_list(app, create_list, db):
    one = create_list()
    suppressions.add("c@x.org", scope="list", reason="unsubscribed", account_id=one.account_id, list_id=one.id)
    db.session.commit()
    assert len(suppressions.entries_for("c@x.org", one.account_id, one.id)) == 1
    assert suppressions.entries_for("c@x.org", one.account_id, "other-list") == []


def test_transitions_follow_the_state_machine(app, create_subscription):
    subscription = create_subscription(status=SubscriptionStatus.PENDING)
    assert subs.apply(subscription, "confirm") is True
    assert subs.apply(subscription, "confirm") is False  # a repeat does nothing
    assert subs.apply(subscription, "unsubscribe") is True and subscription.unsubscribed_at
    with pytest.raises(subs.TransitionRefused):
        subs.apply(subscription, "confirm")  # an old link never re-subscribes
    assert subs.apply(subscription, "resubscribe") is True and subscription.unsubscribed_at is None


def test_links_round_trip_and_refuse_other_purposes(app):
    target = links.Target(3, "L", "<m1@x>")
    token = links.target_token("unsubscribe", target)
    assert links.load_target("unsubscribe", token) == target
    with pytest.raises(TokenInvalid):
        links.load_target("complaint", token)
    assert links.unsubscribe_url(target).startswith("https://portal.test/unsubscribe/")
    assert links.load_confirm(links.confirm_token(9)) == 9
    with pytest.raises(TokenInvalid):
        links.load_confirm(token)


def test_smtp_sink_receives_mail(smtp_server):
    import smtplib

    with smtplib.SMTP("127.0.0.1", smtp_server.port) as smtp:
        smtp.sendmail("a@x.org", ["b@y.org"], b"Subject: hi\r\n\r\nbody\r\n")
    assert smtp_server.messages[0]["Subject"] == "hi"


def test_a_purged_contact_gets_its_address_back_when_given_again(app, db, create_contact):
    contact = create_contact(email="Dewi@example.org")
    contact.email = None  # what retention leaves of a contact with nothing else
    db.session.commit()
    again = subs.get_or_create_contact(contact.account, "dewi@example.org", name="Dewi")
    assert again.id == contact.id and again.email == "dewi@example.org" and again.name == "Dewi"
