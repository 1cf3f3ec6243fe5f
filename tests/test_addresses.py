"""Address normalisation, hashing and role detection."""
import pytest

from portal.addresses import InvalidAddress, email_hash, is_role_address, normalise, try_normalise


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


@pytest.mark.parametrize("address", [
    "ann@Example.ORG", "Ann.Lee+news@example.org", "o'brien@example.co.uk", "a@b", "ann@localhost",
    "ann@example.test", "ann..lee@example.org", ".ann@example.org", "ann.@example.org", "ann@-bad.example.org",
    "ann@exa_mple.org", "x" * 64 + "@example.org", "x" * 65 + "@example.org", "ann@" + "d" * 250 + ".org",
    "x" * 64 + "@" + "d" * 180 + "." + "e" * 60 + ".org", "zoë@exämple.org", "ann@münchen.de", " ann@example.org ",
    "ann@example.org.", "ann@[127.0.0.1]", "@example.org", "ann@", "ann", "ann@@example.org", '"quoted"@example.org',
    "ann@xn--mnchen-3ya.de", "ann@EXAMPLE.org\t", "ann@example.org\n", "ann\r@example.org", "ann@exa mple.org",
    "a(b)@example.org", "ann@example..org", "ANN@EXAMPLE.ORG", "ann@invalid", "ann@example.org\x0b",
])
def test_fast_path_agrees_with_the_validator(address):
    """The plain-ASCII shortcut gives what email-validator gives, or sends the address the full way."""
    from portal.addresses import _validate

    expected = None if any(c in address for c in "\r\n\0") else _validate(address.strip())
    assert try_normalise(address) == expected
    assert try_normalise(address) == try_normalise(address)  # a second time, from the domain cache


def test_the_domain_of_an_invalid_address_is_remembered_as_invalid():
    assert try_normalise("ann@exa_mple.org") is None
    assert try_normalise("bob@exa_mple.org") is None
    with pytest.raises(InvalidAddress):
        normalise("bob@exa_mple.org")


@pytest.mark.parametrize("address,masked", [
    ("ann@example.org", "a***@example.org"),
    ("a@example.org", "a***@example.org"),  # a one-character local part: the stars hide its length
    ("ann+newsletter@example.org", "a***@example.org"),  # the +tag is hidden with the rest
    ("Ann.Smith@Example.ORG", "A***@example.org"),
    ("budi@contoh.xn--bcher-kva.example", "b***@contoh.bücher.example"),  # IDNA shown as people write it
    ("josé@bücher.example", "j***@bücher.example"),
    ("e\u0301mile@example.org", "e\u0301***@example.org"),  # a combining accent stays with its letter
    ("用户@例子.广告", "用***@例子.广告"),
])
def test_mask_shows_the_first_character_and_the_domain_only(address, masked):
    from portal.addresses import mask

    assert mask(address) == masked
    local = address.rpartition("@")[0]
    assert len(local) == 1 or local[1:].lower() not in masked.lower()  # never the rest of the local part


@pytest.mark.parametrize("nothing", [None, "", "no-at-sign", "@example.org", "ann@"])
def test_mask_of_no_address_is_none(nothing):
    from portal.addresses import mask

    assert mask(nothing) is None
