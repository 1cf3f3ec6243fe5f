"""Reading reports (no database): structure, fields, recipients (STANDARDS G-1..G-6, G-9)."""
import pytest

from portal.complaints import arf
from tests.complaints.support import fixture, rewrite


@pytest.mark.parametrize("prefix, kind, feedback_type", [
    ("01", "arf", "abuse"), ("02", "arf", "abuse"), ("03", "arf", "abuse"), ("04", "non_arf_complaint", "non-arf"),
    ("05", "arf", "auth-failure"), ("06", "unrecognised", "unknown"), ("07", "arf", "abuse"), ("08", "arf", "abuse")])
def test_g1_g2_each_fixture_is_classified(prefix, kind, feedback_type):
    report = arf.parse(fixture(prefix))
    assert (report.kind, report.feedback_type, report.malformed) == (kind, feedback_type, None)


def test_g2_text_rfc822_headers_is_read_as_the_original():
    report = arf.parse(fixture("05"))
    assert report.message_id == "<000000000.2222222.0000000000002@example.net>"
    assert report.to_addresses() == ["kijitora@example.org"]


def test_g3_fields_in_any_order_and_case():
    report = arf.parse(fixture("03"))
    assert report.field("Source-IP") == "10.0.0.1" and report.field("feedback-type") == "abuse"
    assert report.details()["source_ip"] == "10.0.0.1"


@pytest.mark.parametrize("prefix, nonconformant", [("01", True), ("02", True), ("03", False), ("07", False)])
def test_g5_versions_are_accepted_and_flagged(prefix, nonconformant):
    assert arf.parse(fixture(prefix)).details()["version_nonconformant"] is nonconformant


def test_g6_received_date_is_kept_as_the_arrival_date():
    assert arf.parse(fixture("01")).details()["received_date"] == "Thu, 29 Apr 2013 23:45:50 PST"


def test_g9_recipient_hints_in_order():
    assert arf.parse(fixture("02")).recipient_hints() == ["kijitora@y.example.com"]
    assert arf.parse(fixture("04")).recipient_hints() == ["kijitora@example.com"]
    assert arf.parse(fixture("07")).to_addresses() == []  # <Undisclosed Recipients>
    assert arf.parse(fixture("08")).recipient_hints() == ["user@example.com"]


@pytest.mark.parametrize("header, expected", [
    ("<https://portal.test/unsubscribe/AbCdEfGhIjKlMn.op-q_r>", ("unsubscribe", "AbCdEfGhIjKlMn.op-q_r")),
    ("<mailto:unsubscribe+AbCdEfGhIjKlMn@u.example?subject=x>, <https://other.example/u/1>",
     ("mailto", "AbCdEfGhIjKlMn")),
    ("<https://portal.test/preferences/AbCdEfGhIjKlMn/>", ("preferences", "AbCdEfGhIjKlMn")),
])
def test_g9_link_tokens_from_list_unsubscribe(header, expected):
    report = arf.parse(rewrite("07", list_unsubscribe=header))
    assert report.link_tokens() == [expected]


def test_g9_foreign_links_give_no_token():
    report = arf.parse(rewrite("07", list_unsubscribe="<https://esp.example/unsub?id=1>, <mailto:leave@x.example>"))
    assert report.link_tokens() == []


def test_values_are_unfolded_and_stripped_of_control_characters():
    assert arf.clean("a\r\n\tb\x00c\x1b") == "a b c"
    assert len(arf.clean("x" * 5000)) == arf.MAX_VALUE
