"""Address normalisation, hashing and role detection."""
import pytest

from portal.addresses import InvalidAddress, email_hash, is_role_address, normalise


def test_domain_is_lowercased_and_local_part_kept():
    assert normalise("Ann.Smith@Example.COM") == "Ann.Smith@example.com"


def test_internationalised_domain_becomes_idna():
    assert normalise("budi@contoh.bücher.example") == "budi@contoh.xn--bcher-kva.example"


@pytest.mark.parametrize("bad", ["", "plain", "a@", "@b.com", "a@b", "a b@c.com", "a@b.com\r\nBcc: x@y.com",
                                 "x" * 400 + "@e.com", "a@b.com\0", "a@-bad-.com"])
def test_invalid_addresses_are_refused(bad):
    with pytest.raises(InvalidAddress):
        normalise(bad)


def test_hash_ignores_case_of_the_whole_address():
    assert email_hash(normalise("Ann@Example.com")) == email_hash(normalise("ann@example.com"))
    assert len(email_hash("a@b.com")) == 64


@pytest.mark.parametrize("address,role", [("info@x.com", True), ("NoReply@x.com", True),
                                          ("postmaster+fbl@x.com", True), ("ann@x.com", False),
                                          ("information.ann@x.com", False)])
def test_role_addresses(address, role):
    assert is_role_address(normalise(address)) is role
