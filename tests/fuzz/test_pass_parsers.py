"""Hostile input against the pass parsers: whatever a phone sends, the answer
is a clean ``InvalidCode`` (or a valid pass), never a crash, and nothing but
a genuinely signed token or a correctly checked typed code gets through."""
from __future__ import annotations

import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pasdienst.config import Settings
from pasdienst.wallet import codes, tokens
from pasdienst.wallet.errors import InvalidCode

KEYS = Settings(secret_keys=("fuzz-old-key-0123456789", "fuzz-new-key-0123456789"), base_url="https://pas.example.nl")
OTHER = Settings(secret_keys=("someone-elses-key-0123456789",), base_url="https://pas.example.nl")
HANDLES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=13, max_size=13)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=string.printable, max_size=120),
    st.builds(lambda s: f"https://pas.example.nl/p/{s}", st.text(max_size=60)),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
)


def outcome(settings_: Settings, text: str) -> str | None:
    """The handle a scanned text names, or None when it is refused."""
    token = tokens.extract_token(text)
    if token is None:
        return None
    try:
        return tokens.verify_token(settings_, token)
    except InvalidCode:
        return None


@settings(max_examples=1500, deadline=None)
@given(hostile_text)
@example("")
@example("/p/")
@example("https://pas.example.nl/p/AAAAAAAAAAAAA.AAAAAAAAAAA")
@example("javascript:alert(1)//p/x")
@example("\x00\x00\x00")
def test_arbitrary_scanned_text_never_crashes_and_never_verifies(text):
    assert outcome(KEYS, text) is None


@settings(max_examples=500, deadline=None)
@given(HANDLES, st.integers(min_value=0, max_value=24), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
def test_changing_any_character_of_a_signed_token_breaks_it(handle, position, replacement):
    token = tokens.token_for(KEYS, handle)
    assert tokens.verify_token(KEYS, token) == handle
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered != token:
        assert outcome(KEYS, tampered) is None


@settings(max_examples=300, deadline=None)
@given(HANDLES)
def test_tokens_signed_with_another_key_are_refused_and_rotation_keeps_old_ones(handle):
    assert outcome(KEYS, tokens.token_for(OTHER, handle)) is None
    signed_before_rotation = tokens.token_for(Settings(secret_keys=KEYS.secret_keys[:1]), handle)
    assert outcome(KEYS, f"https://elders.example/p/{signed_before_rotation}") == handle


@settings(max_examples=1500, deadline=None)
@given(hostile_text)
def test_typed_code_normalisation_refuses_cleanly(text):
    try:
        code = codes.normalise(text)
    except InvalidCode:
        return
    assert codes.is_valid(code) and len(code) == 12


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=CROCKFORD, min_size=11, max_size=11), st.integers(0, 11), st.sampled_from(CROCKFORD))
def test_a_single_mistyped_character_is_caught_before_any_lookup(body, position, wrong):
    code = body + codes.check_character(body)
    assert codes.normalise(codes.display(code).lower()) == code
    typo = code[:position] + wrong + code[position + 1 :]
    if typo != code:
        try:
            codes.normalise(typo)
        except InvalidCode:
            return
        raise AssertionError(f"{typo} passed the check character")
