"""Signed tokens: purpose separation, tampering, key rotation, expiry, no personal data."""
import base64
import functools
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.errors import TokenExpired, TokenInvalid
from portal.tokens import load_compact, load_token, make_compact, make_token
from tests.conftest import make_app


@pytest.fixture
def token_app():
    app = make_app("sqlite://")
    with app.app_context():
        yield app


def test_round_trip(token_app):
    assert load_token("unsubscribe", make_token("unsubscribe", [12, "L1"])) == [12, "L1"]


def test_purposes_do_not_cross(token_app):
    token = make_token("confirm", [1, 2])
    for purpose in ("unsubscribe", "preferences", "complaint"):
        with pytest.raises(TokenInvalid):
            load_token(purpose, token)


@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
                                    lambda t: t[:10], lambda t: "garbage", lambda t: "",
                                    lambda t: t.replace(".", "..", 1), lambda t: "é" + t])
def test_tampered_tokens_are_invalid(token_app, mangle):
    token = make_token("unsubscribe", [1, "L"])
    with pytest.raises(TokenInvalid):
        load_token("unsubscribe", mangle(token))


def test_payload_is_readable_so_it_carries_only_ids(token_app):
    token = make_token("unsubscribe", [42, "list-id"])
    payload = token.split(".")[0]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert decoded == [42, "list-id"]


def test_old_links_survive_a_key_rotation():
    old = make_app("sqlite://", SECRET_KEY="k1")
    with old.app_context():
        token = make_token("unsubscribe", [7, "L"])
    rotated = make_app("sqlite://", SECRET_KEY="k2", SECRET_KEY_FALLBACKS=["k1"])
    with rotated.app_context():
        assert load_token("unsubscribe", token) == [7, "L"]
        new_token = make_token("unsubscribe", [7, "L"])
    with old.app_context():  # new tokens are signed with the newest key
        with pytest.raises(TokenInvalid):
            load_token("unsubscribe", new_token)
    retired = make_app("sqlite://", SECRET_KEY="k2", SECRET_KEY_FALLBACKS=[])
    with retired.app_context():
        with pytest.raises(TokenInvalid):
            load_token("unsubscribe", token)


def test_confirm_tokens_expire_with_their_payload():
    app = make_app("sqlite://", PORTAL_CONFIRM_MAX_AGE=timedelta(seconds=-1))
    with app.app_context():
        token = make_token("confirm", [5, 9])
        with pytest.raises(TokenExpired) as raised:
            load_token("confirm", token)
        assert raised.value.payload == [5, 9]


def test_unsubscribe_tokens_never_expire():
    app = make_app("sqlite://", PORTAL_CONFIRM_MAX_AGE=timedelta(seconds=-1))
    with app.app_context():
        assert load_token("unsubscribe", make_token("unsubscribe", [1])) == [1]


@pytest.mark.parametrize("purpose", ["unsubscribe", "preferences", "complaint"])
@pytest.mark.parametrize("payload", [[1, None], [123456, "list1", "<m@x>"], [7, "l", "é" * 300], [0, "x" * 500],
                                     [2, "l", "<\u2028 \" \\ \x00 ü 🎉 @x>"], [3, "l", "ab" * 4]])
def test_fast_signing_gives_exactly_itsdangerous_tokens(purpose, payload):
    """The one-shot HMAC path mints byte for byte what itsdangerous's dumps mints (compressed payloads too)."""
    from itsdangerous import URLSafeSerializer

    from portal.tokens import make_tokens

    app = make_app("sqlite://", SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])
    with app.app_context():
        expected = URLSafeSerializer(["old", "new"], salt=f"portal.{purpose}").dumps(payload)
        assert make_token(purpose, payload) == expected
        assert make_tokens(("complaint", purpose), payload)[1] == expected
        assert load_token(purpose, expected) == payload


def test_timed_purposes_keep_itsdangerous_signing(token_app):
    token = make_token("confirm", [5])
    assert token.count(".") == 2  # payload, timestamp, signature
    assert load_token("confirm", token) == [5]


# --- compact tokens (the mailto: unsubscribe address) ------------------------------------

BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def test_compact_round_trip_in_either_case(token_app):
    data = bytes(range(20))
    token = make_compact("mailto", data)
    assert len(token) == 52 and set(token) <= set(BASE32)
    assert load_compact("mailto", token, 20) == load_compact("mailto", token.upper(), 20) == data


def test_every_changed_character_of_a_compact_token_is_refused(token_app):
    token = make_compact("mailto", bytes(range(20)))
    for position, original in enumerate(token):
        for other in BASE32.replace(original, ""):
            with pytest.raises(TokenInvalid):
                load_compact("mailto", token[:position] + other + token[position + 1:], 20)


@pytest.mark.parametrize("mangle", [lambda t: t[:-1], lambda t: t + "a", lambda t: "", lambda t: t[:-1] + "1",
                                    lambda t: t[:-1] + "=", lambda t: "é" + t[1:], lambda t: t[:20] + "." + t[21:]])
def test_malformed_compact_tokens_are_refused(token_app, mangle):
    with pytest.raises(TokenInvalid):
        load_compact("mailto", mangle(make_compact("mailto", bytes(20))), 20)


def test_compact_labels_do_not_cross(token_app):
    with pytest.raises(TokenInvalid):
        load_compact("other", make_compact("mailto", bytes(20)), 20)


def test_compact_tokens_survive_a_key_rotation():
    with make_app("sqlite://", SECRET_KEY="old-key").app_context():
        token = make_compact("mailto", b"x" * 20)
    with make_app("sqlite://", SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"]).app_context():
        assert load_compact("mailto", token, 20) == b"x" * 20
    with make_app("sqlite://", SECRET_KEY="new-key").app_context():
        with pytest.raises(TokenInvalid):
            load_compact("mailto", token, 20)


@functools.lru_cache(maxsize=1)
def _rotated_app():
    return make_app("sqlite://", SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])


PAYLOAD_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
PAYLOADS = st.recursive(st.none() | st.integers(min_value=-2**70, max_value=2**70) | PAYLOAD_TEXT | st.booleans(),
                        lambda inner: st.lists(inner, max_size=4), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_bulk_minting_gives_exactly_itsdangerous_tokens(payload):
    """The minter of bulk calls (orjson for the payload, signers prepared once) mints what itsdangerous's dumps mints."""
    from itsdangerous import URLSafeSerializer

    from portal.tokens import token_minter

    with _rotated_app().app_context():
        expected = [URLSafeSerializer(["old", "new"], salt=f"portal.{purpose}").dumps(payload)
                    for purpose in ("unsubscribe", "complaint")]
        assert token_minter(("unsubscribe", "complaint"))(payload) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=20, max_size=20), max_size=30))
def test_compact_tokens_in_bulk_are_the_ones_made_one_at_a_time(datas):
    from portal.tokens import make_compacts

    with _rotated_app().app_context():
        assert make_compacts("mailto", datas) == [make_compact("mailto", data) for data in datas]
