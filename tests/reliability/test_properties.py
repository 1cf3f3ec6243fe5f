"""Property-based tests (hypothesis): hostile tokens, addresses, CSV uploads and feedback
reports raise only the errors that the callers turn into a clear 4xx."""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.addresses import InvalidAddress, normalise
from portal.complaints import arf
from portal.errors import TokenExpired, TokenInvalid
from portal.imports.reading import HashingReader, UnreadableFile, read_rows
from portal.tokens import PURPOSES, load_token, make_token
from tests.conftest import make_app

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def app_context():
    """An app for the token keys; no database is touched."""
    app = make_app("sqlite://")
    with app.app_context():
        yield app


def _mutations(token: str) -> st.SearchStrategy[str]:
    """A real token with one character changed, inserted or removed, or cut short."""
    position = st.integers(0, len(token) - 1)
    char = st.characters(codec="utf-8")
    return st.one_of(
        st.tuples(position, char).map(lambda pc: token[:pc[0]] + pc[1] + token[pc[0] + 1:]),
        st.tuples(position, char).map(lambda pc: token[:pc[0]] + pc[1] + token[pc[0]:]),
        position.map(lambda p: token[:p] + token[p + 1:]),
        position.map(lambda p: token[:p]),
    )


@PROPERTY
@given(purpose=st.sampled_from(sorted(PURPOSES)), garbage=st.one_of(
    st.text(), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
    st.binary().map(lambda b: b.decode("latin-1"))))
@example(purpose="confirm", garbage="\x00")
@example(purpose="unsubscribe", garbage="." * 500)
def test_load_token_raises_only_token_errors_on_garbage(app_context, purpose, garbage):
    try:
        load_token(purpose, garbage)
    except (TokenInvalid, TokenExpired):
        pass


@PROPERTY
@given(data=st.data(), purpose=st.sampled_from(sorted(PURPOSES)), other=st.sampled_from(sorted(PURPOSES)),
       payload=st.lists(st.integers(0, 2**40), min_size=1, max_size=3))
def test_a_changed_or_cross_purpose_token_never_verifies(app_context, data, purpose, other, payload):
    token = make_token(purpose, payload)
    assert load_token(purpose, token) == payload
    if other != purpose:
        with pytest.raises(TokenInvalid):
            load_token(other, token)
    changed = data.draw(_mutations(token))
    if changed != token:
        with pytest.raises((TokenInvalid, TokenExpired)):
            load_token(purpose, changed)


ADDRESSY = st.one_of(
    st.text(max_size=400),
    st.emails(),
    st.tuples(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=40)).map(lambda p: f"{p[0]}@{p[1]}"),
    st.tuples(st.emails(), st.sampled_from(["\r\n", "\0", " ", "\u200b", "\ufeff", ".", "..", "\u0130", "\ud800"]))
      .map(lambda p: p[0] + p[1]),
    st.tuples(st.from_regex(r"[a-z]{1,10}", fullmatch=True),
              st.text(alphabet="abcdeüßçñ日本語xn--.-İ", min_size=1, max_size=30)).map(lambda p: f"{p[0]}@{p[1]}.org"),
)


@PROPERTY
@given(address=ADDRESSY)
@example(address="a@xn--")
@example(address="a@" + "x" * 64 + ".org")
@example(address="ann@ex\u0000ample.org")
def test_normalise_raises_only_invalid_address_and_is_idempotent(address):
    try:
        once = normalise(address)
    except InvalidAddress:
        return
    assert normalise(once) == once
    assert not any(c in once for c in "\r\n\0")


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(
    st.binary(max_size=3000),
    st.lists(st.lists(st.text(max_size=30), max_size=6), max_size=20).map(
        lambda rows: "\n".join(",".join(row) for row in [["email", "name"], *rows]).encode("utf-8", "surrogatepass")),
    st.text(alphabet='a@.,;\t"\r\n\x00é', max_size=500).map(lambda text: ("email\n" + text).encode("utf-8")),
))
@example(body=b"\xef\xbb\xbfemail\n\"unterminated")
@example(body=b"email\n" + b"x" * 200000)
@example(body=b"\xff\xfe" + "email\n".encode("utf-16-le"))
def test_csv_reading_yields_rows_or_unreadable_file(body):
    reader = HashingReader(io.BytesIO(body))
    try:
        for row in read_rows(reader):
            assert row.number >= 2 and all(isinstance(value, str) for value in row.values.values())
    except UnreadableFile as error:
        assert error.status == 422


REPORT_PARTS = st.sampled_from([
    b"From: fbl@isp.example\r\n", b"To: abuse@portal.test\r\n", b"Subject: report\r\n",
    b"MIME-Version: 1.0\r\n",
    b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n',
    b"\r\n", b"--b\r\n", b"--b--\r\n", b"Content-Type: message/feedback-report\r\n",
    b"Feedback-Type: abuse\r\n", b"Original-Rcpt-To: ann@example.org\r\n",
    b"Content-Type: message/rfc822\r\n", b"Content-Type: text/rfc822-headers\r\n",
    b"List-Unsubscribe: <https://portal.test/unsubscribe/abc.def>\r\n",
    b"Message-ID: <x@y>\r\n", b"Content-Transfer-Encoding: base64\r\n", b"=?utf-8?b?////?=\r\n",
    b"Content-Type: multipart/mixed; boundary=\"\"\r\n", b"\xff\xfe\x00", b"Version: 1\r\n",
])


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.binary(max_size=2000), st.lists(REPORT_PARTS, max_size=40).map(b"".join),
                     st.tuples(st.lists(REPORT_PARTS, max_size=30), st.binary(max_size=200)).map(
                         lambda p: b"".join(p[0]) + p[1])))
def test_feedback_report_parsing_raises_nothing_unexpected(raw):
    try:
        report = arf.parse(raw)
    except arf.NotAMessage as error:
        assert error.status == 422
        return
    report.details()
    report.link_tokens()
    report.recipient_hints()
    report.to_addresses()
    _ = report.message_id
