"""Every parser of user input is linear: each is fed its pathological input at two sizes, and the
cost of the larger is bounded by the cost of the smaller, measured in the same run (a quadratic
parser takes 64 times longer on 8 times the input; a linear one about 8 times). Where a benign
input of the same size exists, the pathological one is also bounded by it. Costs are this
thread's CPU time, best of several runs, measured again before a comparison fails
(tests/timing.py), so that a busy machine does not fail a linear parser."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from portal import addresses, logs, origins
from portal.complaints import arf
from portal.imports import checks, reading
from portal.preferences import inbound, messages
from portal.screening import operations as screening
from tests.timing import MAX_RATIO, SCALE, assert_bounded_by, assert_linear, best_time

__all__ = ["MAX_RATIO", "SCALE", "assert_bounded_by", "assert_linear", "best_time"]


def _quadratic_tag_strip(text: str) -> str:
    """The regex the message check used before (19.5 s on 160,000 '<'): quadratic on '<' * n."""
    return re.sub(r"<[^>]*>", " ", text)


def test_the_linearity_check_rejects_a_quadratic_parser():
    with pytest.raises(AssertionError, match="ratio"):
        assert_linear(_quadratic_tag_strip, lambda n: "<" * n, 1_000)


def test_the_linearity_check_accepts_a_linear_parser_of_the_same_input():
    assert_linear(messages._html_text, lambda n: "<" * n, 1_000)


HTML_INPUTS = {
    "lt": lambda n: "<" * n,  # the finding: 19.5 s at 160,000 with <[^>]*>
    "open tags": lambda n: "<a " * n,
    "comments": lambda n: "<!--" * n,
    "end tags": lambda n: "</a" * n,
    "marked sections": lambda n: "<![" * n,
    "closed tags": lambda n: "<a>x" * n,
    "entities": lambda n: "&#" * n + "&amp;" * n,
}


@pytest.mark.parametrize("name", list(HTML_INPUTS))
def test_html_to_text_is_linear(name):
    assert_linear(messages._html_text, HTML_INPUTS[name], 20_000)


def test_html_to_text_of_160000_lt_costs_what_plain_text_costs():
    assert_bounded_by(messages._html_text, "<" * 160_000, "a" * 80_000 + "<b>" + "a" * 79_997, 20)


def test_html_to_text_keeps_what_the_tag_regex_kept():
    assert messages._html_text("<p>Jl.&nbsp;Merdeka<br>1</p>") == " Jl.\xa0Merdeka 1 "
    assert messages._html_text("a < b and c") == "a < b and c"  # no closing '>': text
    assert messages._html_text("<<<a>x") == " x"


URI_LISTS = {
    "long list": lambda n: "<a>" + ", <a>" * n + "x",
    "spaces then junk": lambda n: "<a>" + " " * n + "x",
    "commas": lambda n: "<a>" + "," * n,
    "open brackets": lambda n: "<" * n,
}


@pytest.mark.parametrize("name", list(URI_LISTS))
def test_list_unsubscribe_parsing_is_linear(name):
    assert_linear(messages._uri_list, URI_LISTS[name], 10_000)


def test_list_unsubscribe_parsing_keeps_the_grammar():
    assert messages._uri_list(" <https://a.example/u>,\t<mailto:u@a.example?subject=x,y> ") == [
        "https://a.example/u", "mailto:u@a.example?subject=x,y"]
    for bad in ("", "<>", "<a b>", "<a>,", "<a> <b>", "a", "<a<b>", "<a>,,<b>"):
        assert messages._uri_list(bad) is None, bad


def test_the_message_check_answers_the_pathological_html_like_a_plain_one(client, create_account, platform_auth):
    account = create_account()

    def check(html: str) -> None:
        response = client.post(f"/api/v1/accounts/{account.id}/messages/check", headers=platform_auth,
                               json={"html": html, "headers": {}})
        assert response.status_code == 200

    # The whole request, in this thread (the test client runs the app in it): at most 5 times as
    # much CPU as the same size of plain text.
    assert_bounded_by(check, "<" * 160_000, "x" * 160_000, 5)


# Feedback-loop reports (portal/complaints/arf.py): the whole parse and every accessor.

def read_report(raw: bytes) -> None:
    try:
        report = arf.parse(raw)
    except arf.NotAMessage:
        return
    report.details(), report.link_tokens(), report.recipient_hints(), report.to_addresses()


def _multipart(boundary: bytes, body: bytes) -> bytes:
    return (b"From: fbl@isp.example\r\nContent-Type: multipart/report; report-type=feedback-report; boundary="
            + boundary + b"\r\n\r\n" + body)


def _nested(depth: int) -> bytes:
    return _multipart(b"b0", b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                                      for i in range(depth)) + b"x\r\n")


def _arf_with(fields: bytes, original: bytes) -> bytes:
    return _multipart(b"b", b"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
                      b"User-Agent: x\r\nVersion: 1\r\n" + fields + b"\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
                      + original + b"\r\n\r\nbody\r\n--b--\r\n")


REPORTS = {
    "deeply nested multipart": _nested,  # before the boundary cap, 200 -> 800 levels: 12 ms -> 249 ms
    "thousands of parts": lambda n: _multipart(b"b", b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * n + b"--b--\r\n"),
    "a huge header": lambda n: b"From: a@b.example\r\nSubject: " + b"a" * (100 * n) + b"\r\n\r\nx",
    "a header folded many times": lambda n: b"From: a@b.example\r\nSubject: a" + b"\r\n a" * (10 * n) + b"\r\n\r\nx",
    "many Received lines": lambda n: b"From: a@b.example\r\n" + b"Received: from x by y; 1 Dec 2026\r\n" * n + b"\r\nx",
    "a long line without newline": lambda n: b"From: a@b.example\r\n\r\n" + b"a" * (100 * n),
    "many feedback fields": lambda n: _arf_with(b"Reported-Uri: <x>\r\n" * n, b"To: a@b.example"),
    "hostile recipient fields": lambda n: _arf_with(b"Original-Rcpt-To: " + b"a@" * (10 * n) + b"\r\n",
                                                    b"To: " + b'"' * (10 * n) + b"\r\nList-Unsubscribe: "
                                                    + b"<" * (10 * n)),
}


@pytest.mark.parametrize("name", list(REPORTS))
def test_feedback_report_parsing_is_linear(name):
    assert_linear(read_report, REPORTS[name], 200 if name == "deeply nested multipart" else 1_000)


def test_a_deeply_nested_report_costs_no_more_than_a_flat_one_of_its_size():
    filler = b"x\r\n" * 100_000
    deep = _nested(300) + filler  # 7 s at 300 levels before the boundary cap
    flat = _multipart(b"b", b"--b\r\nContent-Type: text/plain\r\n\r\n" + filler + b"a" * (len(deep) - len(filler) - 40))
    assert_bounded_by(read_report, deep, flat[:len(deep)], 2)


def test_a_report_with_too_many_boundaries_is_unrecognised_and_a_normal_nesting_still_reads():
    report = arf.parse(_nested(arf.MAX_BOUNDARIES))
    assert (report.kind, report.malformed) == (arf.Kind.UNRECOGNISED, "more than 16 multipart boundaries")
    original = (b"To: a@b.example\r\nMessage-ID: <m@p.example>\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
                b"--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\n"
                b"hi\r\n--a--\r\n--m--")
    report = arf.parse(_arf_with(b"", original))
    assert (report.kind, report.feedback_type, report.malformed) == (arf.Kind.ARF, "abuse", None)
    assert report.message_id == "<m@p.example>"
    with pytest.raises(arf.NotAMessage):
        arf.parse(b"boundary=" * 40)


# Mail to the List-Unsubscribe mailto address (portal/preferences/inbound.py).

def read_inbound(raw: bytes) -> list[str]:
    return inbound.candidate_tokens(inbound.parse(raw))


INBOUND = {
    "a To of quotes": lambda n: b"From: a@b.example\r\nTo: " + b'"' * n + b"\r\n\r\nx",  # 80,000: 50 s before
    "a To of angle brackets": lambda n: b"From: a@b.example\r\nTo: " + b"<" * n + b"\r\n\r\nx",
    "a To of comments": lambda n: b"From: a@b.example\r\nTo: " + b"(" * n + b"\r\n\r\nx",
    "thousands of tokens": lambda n: b"From: a@b.example\r\nTo: " + b", ".join(
        b"unsubscribe+tok%dabcdefgh@p.example" % i for i in range(n // 10)) + b"\r\n\r\nx",
    "repeated prefixes": lambda n: b"From: a@b.example\r\nCc: " + b"unsubscribe+" * (n // 10) + b"\r\n\r\nx",
    "deeply nested multipart": lambda n: _nested(n // 50),
    "thousands of parts": REPORTS["thousands of parts"],
    "many Received lines": REPORTS["many Received lines"],
    "a long line without newline": REPORTS["a long line without newline"],
}


@pytest.mark.parametrize("name", list(INBOUND))
def test_inbound_unsubscribe_parsing_is_linear(name):
    assert_linear(read_inbound, INBOUND[name], 5_000)


def test_inbound_parsing_reads_the_recipients_and_message_id_as_before():
    raw = (b"From: a@b.example\r\nTo: \"Ann (x)\" <unsubscribe+tokAAAAAAAAAA@p.example>,\r\n"
           b" unsubscribe+tokBBBBBBBBBB@p.example\r\nDelivered-To: unsubscribe+tokCCCCCCCCCC@p.example\r\n"
           b"Cc: unsubscribe+tokAAAAAAAAAA@p.example\r\nMessage-ID: <id@b.example>\r\n\r\nunsubscribe+tokD@x")
    message = inbound.parse(raw)
    assert inbound.candidate_tokens(message, "unsubscribe+tokEEEEEEEEEE@p.example") == [
        "tokEEEEEEEEEE", "tokCCCCCCCCCC", "tokAAAAAAAAAA", "tokBBBBBBBBBB"]
    assert inbound.message_id(message) == "<id@b.example>"


# CSV imports (portal/imports/reading.py and checks.py): reading and examining every row.

def read_import(data: bytes) -> None:
    now = datetime.now(timezone.utc)
    try:
        for row in reading.read_rows(reading.HashingReader(io.BytesIO(data))):
            checks.examine(row, now, timedelta(days=730))
    except reading.UnreadableFile:
        pass


CSV_INPUTS = {
    "a huge single cell": lambda n: b"email,name\n" + b"a" * (100 * n) + b",x\n",
    "a huge quoted cell": lambda n: b"email,name\n\"" + b"a" * (100 * n) + b"\",x\n",
    "many columns": lambda n: b"email" + b",c" * (10 * n) + b"\na@b.example" + b",x" * (10 * n) + b"\n",
    "quotes": lambda n: b"email,name\n" + b'"' * (100 * n) + b"\n",
    "doubled quotes": lambda n: b"email,name\n\"" + b'""' * (50 * n) + b"\"\n",
    "a long line without newline": lambda n: b"email," + b"a" * (100 * n),
    "a header of separators": lambda n: b"email" + b";,\t" * (10 * n) + b"\n",
    "control characters": lambda n: b"email,name\na@b.example," + b"\x01" * (100 * n) + b"\n",
    "many rows": lambda n: b"email,name,consented_at\n" + b"a@b.example,x,2026-11-01\n" * (n // 2),
}


@pytest.mark.parametrize("name", list(CSV_INPUTS))
def test_import_reading_and_checks_are_linear(name):
    assert_linear(read_import, CSV_INPUTS[name], 1_000)


# Addresses and origins: their length is capped before any parsing, so the longest pathological
# value accepted for parsing costs about what a benign one of the same length costs.

PATHOLOGICAL_ADDRESSES = [
    "a." * 31 + "a@" + "b." * 120 + "example",  # many dot-atoms and labels
    "a.." * 21 + "@" + "b-." * 80 + "example",  # empty atoms and bad labels
    "!#$%&'*+/=?^_`{|}~-" * 3 + "@" + "xn--" * 60 + "example",
    "\u00e9" * 64 + "@" + "\u00e9." * 100 + "example",  # non-ASCII: the validator's full way
    '"' * 64 + "@" + "[" * 250,
    "a@" * 160,
]


@pytest.mark.parametrize("address", PATHOLOGICAL_ADDRESSES)
def test_address_normalisation_of_a_pathological_address_costs_what_a_plain_one_does(address):
    def normalise(value):
        addresses._domain.cache_clear()
        addresses.try_normalise(value)

    benign = "a" * 63 + "@" + ("b" * 60 + ".") * 4
    assert_bounded_by(normalise, address, benign[:len(address) - 8] + ".example", 20)


def test_address_normalisation_refuses_an_overlong_value_before_parsing():
    assert_linear(addresses.try_normalise, lambda n: "a." * n + "@b.example", 100_000)
    assert addresses.try_normalise("a" * 400 + "@b.example") is None


PATHOLOGICAL_ORIGINS = [
    "https://" + "a." * 145 + "b",
    "https://" + "-." * 145 + "b",
    "https://" + "xn--" * 72,
    "https://" + "\u00e9" * 290,
    "https://[" + ":" * 290 + "]",
    "https://" + "1." * 145 + "1",
    "https://a.example:" + "9" * 280,
]


@pytest.mark.parametrize("value", PATHOLOGICAL_ORIGINS)
def test_origin_validation_of_a_pathological_origin_costs_what_a_plain_one_does(value):
    def check(text):
        origins.is_origin(text)

    benign = "https://" + ("a" * 60 + ".") * 5
    assert_bounded_by(check, value, benign[:len(value) - 8] + ".example", 20)


@pytest.mark.parametrize("tail", ['"', "%", "/", "?#", ";,*"])
def test_redirect_url_validation_is_bounded_and_linear(tail):
    def check(text):
        try:
            origins.url_origin(text)
        except origins.NotAnOrigin:
            pass

    url = "https://a.example/" + tail * (1980 // len(tail))
    assert_bounded_by(check, url, "https://a.example/" + "a" * (len(url) - 18), 20)
    assert_linear(check, lambda n: "https://a.example/" + tail * n, 100_000)  # refused by length at once


# Restricted-content screening's HTML-to-words (the lexicon's matcher has its own test).

@pytest.mark.parametrize("make", [lambda n: "<" * n, lambda n: "<a>&#" * n, lambda n: "<" * n + ">",
                                  lambda n: "&" * n, lambda n: "<!--" * n])
def test_screening_html_words_is_linear(make):
    assert_linear(screening.html_words, make, 20_000)


# Log masking (portal/logs.py) runs two regexes over every logged line.

LOG_LINES = {
    "repeated mailto prefixes": lambda n: "unsubscribe+" * n,  # 8000: 4 s before (ratio 16)
    "repeated encoded prefixes": lambda n: "unsubscribe%2B" * n,
    "repeated token paths": lambda n: "/confirm/" * n,
    "a long token": lambda n: "/unsubscribe/" + "a" * (10 * n),
}


@pytest.mark.parametrize("name", list(LOG_LINES))
def test_log_masking_is_linear(name):
    assert_linear(logs.mask, LOG_LINES[name], 2_000)
