"""Signed QR tokens and typed codes: no personal data, forgery and typos caught early."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from sqlalchemy import text

from pasdienst.wallet import codes, tokens
from pasdienst.wallet.errors import InvalidCode, PassBlocked, PassExpired
from pasdienst.wallet.services import (
    block_pass,
    looks_like_typed_code,
    reissue_pass,
    resolve_pass,
)

from .helpers import TODAY, issued, pass_of

OTHER_KEY = "another-secret-key-0123456789abcdef"


def test_a_token_is_a_random_handle_and_a_truncated_mac(settings):
    handle = tokens.new_handle()
    token = tokens.token_for(settings, handle)
    assert len(handle) == 13 and handle.isupper()
    assert token.startswith(handle + ".") and len(token) == 25
    assert tokens.verify_token(settings, token) == handle
    assert tokens.new_handle() != handle


@pytest.mark.parametrize(
    "base_url",
    ["https://pas.example.nl", "https://kindpakket.opsterland.nl", "https://kinderpas.gemeente-westerkwartier.nl"],
)
def test_the_whole_payload_fits_a_version_5_qr_code_at_error_correction_m(settings, base_url):
    payload = tokens.payload_for(replace(settings, base_url=base_url), tokens.new_handle())
    code = qrcode.QRCode(version=5, error_correction=ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=False)  # raises DataOverflowError when it does not fit
    assert code.version == 5


def test_the_version_5_check_has_teeth(settings):
    code = qrcode.QRCode(version=5, error_correction=ERROR_CORRECT_M)
    code.add_data("https://kindpakket.opsterland.nl/p/" + "x" * 60)
    with pytest.raises(DataOverflowError):
        code.make(fit=False)


def test_a_tampered_token_is_invalid(settings):
    handle = tokens.new_handle()
    token = tokens.token_for(settings, handle)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in range(len(token)):
        if token[position] == ".":
            continue
        for char in alphabet:
            changed = token[:position] + char + token[position + 1 :]
            if changed == token:
                continue
            with pytest.raises(InvalidCode):
                tokens.verify_token(settings, changed)


def test_a_token_forged_with_another_key_is_invalid(settings):
    forged = tokens.token_for(replace(settings, secret_keys=(OTHER_KEY,)), tokens.new_handle())
    with pytest.raises(InvalidCode):
        tokens.verify_token(settings, forged)


def test_after_a_key_rotation_old_tokens_verify_and_the_new_key_signs(settings):
    handle = tokens.new_handle()
    printed = tokens.token_for(settings, handle)
    rotated = replace(settings, secret_keys=(*settings.secret_keys, OTHER_KEY))
    assert tokens.verify_token(rotated, printed) == handle
    fresh = tokens.token_for(rotated, handle)
    assert fresh != printed and tokens.verify_token(rotated, fresh) == handle
    with pytest.raises(InvalidCode):
        tokens.verify_token(settings, fresh)  # the old key alone does not know the new one


@pytest.mark.parametrize(
    "text, expected",
    [
        ("https://pas.example.nl/p/ABCDEFGHIJKLM.abcdefghijk", "ABCDEFGHIJKLM.abcdefghijk"),
        ("http://127.0.0.1:8000/p/ABCDEFGHIJKLM.abcdefghijk/", "ABCDEFGHIJKLM.abcdefghijk"),
        ("https://gemeente.nl/kindpakket/p/ABCDEFGHIJKLM.abcdefghijk?utm=x", "ABCDEFGHIJKLM.abcdefghijk"),
        ("  ABCDEFGHIJKLM.abcdefghijk ", "ABCDEFGHIJKLM.abcdefghijk"),
        ("https://pas.example.nl/q/ABCDEFGHIJKLM.abcdefghijk", None),
        ("ABCD-EFGH-JKMN", None),
    ],
)
def test_the_token_is_found_in_any_base_url_or_bare(text, expected):
    assert tokens.extract_token(text) == expected


def test_a_typed_code_has_a_check_character_that_catches_every_single_typo():
    code = codes.code_for_handle(b"k" * 32, "ABCDEFGHIJKLM")
    assert codes.is_valid(code)
    for position in range(12):
        for char in codes.ALPHABET:
            if char != code[position]:
                assert not codes.is_valid(code[:position] + char + code[position + 1 :])


def test_the_check_character_catches_swapped_neighbours():
    code = codes.code_for_handle(b"k" * 32, "ABCDEFGHIJKLM")
    swaps = [code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(11) if code[i] != code[i + 1]]
    assert swaps and not any(codes.is_valid(s) for s in swaps)


def test_typed_codes_forgive_case_hyphens_spaces_and_look_alike_letters():
    body = "01ABCDEFGHJ"
    code = body + codes.check_character(body)
    typed = " o" + "i" + code[2:4].lower() + "-" + code[4:8] + " - " + code[8:].lower()
    assert codes.normalise(typed) == code
    assert codes.normalise("OL" + code[2:]) == code
    assert codes.display(code) == f"{code[:4]}-{code[4:8]}-{code[8:]}"


@pytest.mark.parametrize("typed", ["ABCD-EFGH-JK", "ABCD-EFGH-JKMN-P", "ABCD-EFGH-JKU0", ""])
def test_a_malformed_typed_code_is_invalid_before_any_lookup(typed):
    with pytest.raises(InvalidCode):
        codes.normalise(typed)


def test_qr_payloads_and_tokens_do_not_look_like_typed_codes():
    assert looks_like_typed_code("ABCD-EFGH-JKMN") and looks_like_typed_code("abcd efgh jkm")
    assert not looks_like_typed_code("https://pas.example.nl/p/ABCDEFGHIJKLM.abcdefghijk")
    assert not looks_like_typed_code("ABCDEFGHIJKLM.abcdefghijk")
    assert not looks_like_typed_code("  ")


class _NoDatabase:
    """A session that fails the test if anything reaches the database."""

    def execute(self, *args, **kwargs):
        raise AssertionError("the database was queried before the code was checked")

    get = scalar = scalars = execute


@pytest.mark.parametrize("scanned", ["https://pas.example.nl/p/ABCDEFGHIJKLM.abcdefghijk", "ABCD-EFGH-JKMN", "not a code"])
def test_a_forged_token_or_mistyped_code_is_refused_before_the_database_is_read(settings, scanned):
    with pytest.raises(InvalidCode):
        resolve_pass(_NoDatabase(), scanned, settings=settings, today=TODAY)
@pytest.mark.money
def test_a_pass_resolves_from_its_url_its_bare_token_or_its_typed_code(db, settings):
    issued(db, settings)
    with db.read() as s:
        nora = pass_of(s, "K-1")
        token = tokens.token_for(settings, nora.handle)
        code = codes.code_of(settings, nora.handle, nora.code_hash)
        for scanned in (
            f"https://pas.example.nl/p/{token}",
            f"http://other.host:8000/p/{token}",
            token,
            codes.display(code),
            code.lower(),
        ):
            assert resolve_pass(s, scanned, settings=settings, today=TODAY).id == nora.id
        assert nora.child.first_name == "Nora" and nora.child.age_on(TODAY) == 9
        assert len(nora.vouchers) == 3


@pytest.mark.money
def test_the_typed_code_is_stored_only_as_a_keyed_hash(db, settings):
    issued(db, settings)
    with db.read() as s:
        nora = pass_of(s, "K-1")
        code = codes.code_of(settings, nora.handle, nora.code_hash)
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM wallet_pass")) for v in row)
    assert code not in dump and codes.display(code) not in dump
    assert nora.code_hash == codes.lookup_hash(codes.code_keys(settings)[0], code)


@pytest.mark.money
def test_an_unknown_but_well_formed_code_is_invalid(db, settings):
    issued(db, settings)
    body = "ZZZZZZZZZZZ"
    with db.read() as s, pytest.raises(InvalidCode, match="unknown"):
        resolve_pass(s, body + codes.check_character(body), settings=settings, today=TODAY)


@pytest.mark.money
def test_a_blocked_pass_is_refused_as_blocked(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        nora = pass_of(s, "K-1")
        block_pass(s, nora.pass_number, reason="kwijt")
        token = tokens.token_for(settings, nora.handle)
        code = codes.code_of(settings, nora.handle, nora.code_hash)
    with db.read() as s:
        for scanned in (token, code):
            with pytest.raises(PassBlocked) as refused:
                resolve_pass(s, scanned, settings=settings, today=TODAY)
            assert (refused.value.code, refused.value.status) == ("pass_blocked", 409)


@pytest.mark.money
def test_an_older_generation_is_refused_as_replaced(db, settings):
    """Issue 14: the till and the holder's old link say the pass was replaced (the family has a new letter)."""
    issued(db, settings)
    with db.transaction() as s:
        old = pass_of(s, "K-1")
        old_token = tokens.token_for(settings, old.handle)
        old_code = codes.code_of(settings, old.handle, old.code_hash)
        new = reissue_pass(s, old.pass_number, settings=settings, today=TODAY)
        new_token = tokens.token_for(settings, new.handle)
    with db.read() as s:
        for scanned in (old_token, old_code):
            with pytest.raises(PassBlocked) as refused:
                resolve_pass(s, scanned, settings=settings, today=TODAY)
            assert (refused.value.code, refused.value.status) == ("pass_blocked", 409)
            assert refused.value.details["reason"] == "replaced"
        assert resolve_pass(s, new_token, settings=settings, today=TODAY).id == new.id


@pytest.mark.money
@pytest.mark.parametrize(
    "day, usable",
    [(date(2026, 12, 31), False), (date(2027, 1, 1), True), (date(2027, 12, 31), True), (date(2028, 1, 1), False)],
)
def test_a_pass_is_usable_from_its_first_to_its_last_day_inclusive(db, settings, day, usable):
    issued(db, settings)
    with db.read() as s:
        token = tokens.token_for(settings, pass_of(s, "K-1").handle)
        if usable:
            assert resolve_pass(s, token, settings=settings, today=day).status == "active"
        else:
            with pytest.raises(PassExpired) as refused:
                resolve_pass(s, token, settings=settings, today=day)
            assert (refused.value.code, refused.value.status) == ("pass_expired", 409)


@pytest.mark.money
def test_passes_keep_working_after_a_key_rotation(db, settings):
    issued(db, settings)
    with db.read() as s:
        nora = pass_of(s, "K-1")
        token = tokens.token_for(settings, nora.handle)
        code = codes.code_of(settings, nora.handle, nora.code_hash)
    rotated = replace(settings, secret_keys=(*settings.secret_keys, OTHER_KEY))
    with db.read() as s:
        assert resolve_pass(s, token, settings=rotated, today=TODAY).id == nora.id
        assert resolve_pass(s, code, settings=rotated, today=TODAY).id == nora.id
        assert codes.code_of(rotated, nora.handle, nora.code_hash) == code
    dropped = replace(settings, secret_keys=(OTHER_KEY,))
    with db.read() as s, pytest.raises(InvalidCode):
        resolve_pass(s, code, settings=dropped, today=TODAY)
