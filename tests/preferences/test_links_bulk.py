"""The unsubscribe-links call mints its tokens in one pass: the same links and headers, byte for byte, as one recipient at a time."""
import pytest

from portal import links
from portal.addresses import email_hash, normalise
from portal.preferences import headers
from portal.preferences.operations import headers as bulk_links
from tests import factories


def one_at_a_time(recipient, target):
    """The links of one recipient as the portal made them before bulk minting."""
    tokens = links.target_tokens(target)
    urls = links.target_urls(target, tokens)
    return {"email": recipient.email, **urls, "headers": headers.list_unsubscribe(target, urls["unsubscribe_url"])}


@pytest.mark.parametrize("domain", ["unsub.portal.example", None])
def test_bulk_links_are_the_links_made_one_at_a_time(app, db, create_account, domain):
    app.config["PORTAL_UNSUBSCRIBE_MAIL_DOMAIN"] = domain
    account = create_account()
    mailing_list = factories.create_list(account)
    factories.create_contact(account, "known@x.org")
    db.session.commit()
    recipients = [headers.Recipient("known@x.org", "<m1@platform>"), headers.Recipient("Known@X.ORG", None),
                  headers.Recipient("new@x.org", "<m2@platform>"), headers.Recipient("new@x.org", "<m2@platform>"),
                  headers.Recipient("ü@bücher.de", "<ref with \" \\ ü 🎉 \u2028>"),
                  headers.Recipient("long@x.org", "<" + "r" * 400 + ">"), headers.Recipient("empty@x.org", "")]
    recipients += [headers.Recipient(f"many{n}@x.org", f"<{n}@p>") for n in range(60)]
    bulk = bulk_links.recipient_links(account, mailing_list, recipients)
    ids = bulk_links.contact_ids(account, {email_hash(normalise(r.email)): normalise(r.email) for r in recipients})
    expected = [one_at_a_time(r, links.Target(ids[email_hash(normalise(r.email))], mailing_list.id,
                                              r.message_id or None)) for r in recipients]
    assert bulk == expected
    assert ("mailto:" in bulk[0]["headers"]["List-Unsubscribe"]) == bool(domain)


def test_contacts_are_created_once_and_found_again(app, db, create_account):
    account = create_account()
    factories.create_contact(account, "known@x.org")
    db.session.commit()
    addresses = {email_hash(a): a for a in ["known@x.org"] + [f"c{n}@x.org" for n in range(4500)]}  # 3 chunks
    first = bulk_links.contact_ids(account, addresses)
    db.session.commit()
    assert set(first) == set(addresses) and len(set(first.values())) == len(addresses)
    assert bulk_links.contact_ids(account, addresses) == first


def test_a_contact_created_meanwhile_by_another_call_is_found(app, db, create_account, monkeypatch, backend):
    account = create_account()
    contact = factories.create_contact(account, "raced@x.org")
    db.session.commit()
    real, calls = bulk_links._existing, []

    def existing(account_id, hashes):
        calls.append(list(hashes))
        return {} if len(calls) == 1 else real(account_id, hashes)  # the first look ran before the other commit

    monkeypatch.setattr(bulk_links, "_existing", existing)
    addresses = {email_hash("raced@x.org"): "raced@x.org", email_hash("fresh@x.org"): "fresh@x.org"}
    found = bulk_links.contact_ids(account, addresses)
    assert found[email_hash("raced@x.org")] == contact.id
    assert found[email_hash("fresh@x.org")] not in (None, contact.id)
    if backend == "postgresql":  # the insert returns the ids it made: only the one it skipped is looked up again
        assert calls[1] == [email_hash("raced@x.org")]
