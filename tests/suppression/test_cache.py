"""The in-process index behind bulk checks: its hash shortcut and its catching up with the feed."""
import pytest

from portal.addresses import email_hash, normalise
from portal.extensions import db
from portal.suppression import operations
from portal.suppression.cache import SuppressionIndex, address_digest


@pytest.mark.parametrize("address", ["Ann@Example.COM", "  bob.smith+tag@x.org ", "UPPER@CASE.ORG",
                                     "ann@bücher.de", "Jörg@Bücher.DE"])
def test_digest_equals_the_hash_of_the_normalised_address(address):
    assert address_digest(address).hex() == email_hash(normalise(address))


def test_invalid_non_ascii_address_has_no_digest():
    assert address_digest("no at sign ü") is None


def test_index_loads_the_table_then_follows_the_feed(app, create_account):
    account = create_account()
    operations.add("a@x.org", scope="account", reason="manual", account_id=account.id)
    operations.add("a@x.org", scope="global", reason="complaint")
    db.session.commit()
    index = SuppressionIndex()
    index.sync()
    assert [p for p, _e in index.check(["a@x.org", "b@x.org"], "other")] == [0]
    operations.remove(operations.find("a@x.org", scope="global"), note="lifted")
    operations.add("b@x.org", scope="account", reason="manual", account_id=account.id)
    db.session.commit()
    index.sync()
    assert index.check(["a@x.org", "b@x.org"], "other") == []
    assert [p for p, _e in index.check(["a@x.org", "b@x.org"], account.id)] == [0, 1]
    index.sync()  # replaying what it already applied changes nothing
    [(_position, entries)] = index.check(["A@X.ORG"], account.id)
    assert [(e[0], e[3]) for e in entries] == [("account", "manual")]
