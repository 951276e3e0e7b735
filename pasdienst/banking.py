"""IBAN and BIC checks with schwifty, done before anything is stored.

sepaxml checks only the XML schema, not IBAN checksums, so every IBAN that
can end up in a payment file passes through ``normalise_iban`` first. Names
go into the file through ``sepa_text``; ``bank_name`` is what a merchant's
name becomes there, so the merchant rules can refuse a name a bank cannot
carry before it is stored (and long before a batch is approved).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from text_unidecode import unidecode

from .errors import ValidationFailed

# Countries of the SEPA scheme: a credit transfer can reach these.
SEPA_COUNTRIES = frozenset(
    "AD AT BE BG CH CY CZ DE DK EE ES FI FR GB GI GR HR HU IE IS IT LI LT LU LV MC MT NL NO PL PT RO SE SI SK SM VA".split()
)


class InvalidIBAN(ValidationFailed):
    """An IBAN or BIC that does not check out; ``field`` says which of the two (``iban``, ``bic``)."""

    def __init__(self, message: str, *, refusal: str, field: str = "iban", **details: object) -> None:
        super().__init__(message, refusal=refusal, **details)
        self.field = field


@dataclass(frozen=True)
class BankAccount:
    iban: str
    bic: str | None
    bank_name: str | None


#: schwifty's refusals of an IBAN: the English reason and the refusal code.
_IBAN_PROBLEMS = {
    "InvalidChecksumDigits": {"reason": "its check digits are wrong (a typo?)", "refusal": "iban_check_digits"},
    "InvalidLength": {"reason": "it has the wrong length", "refusal": "iban_length"},
    "InvalidStructure": {"reason": "it contains characters an IBAN cannot have", "refusal": "iban_characters"},
    "InvalidCountryCode": {"reason": "its country code is unknown", "refusal": "iban_country"},
}


def normalise_iban(text: str, bic: str | None = None) -> BankAccount:
    raw = (text or "").strip()
    if not raw:
        raise InvalidIBAN("an IBAN is required", refusal="iban_missing")
    try:
        iban = IBAN(raw)
    except SchwiftyException as exc:
        known = _IBAN_PROBLEMS.get(type(exc).__name__, {"reason": str(exc), "refusal": "iban_invalid"})
        raise InvalidIBAN(f"IBAN {raw!r} is not valid: {known['reason']}", refusal=known["refusal"]) from None
    if iban.country_code not in SEPA_COUNTRIES:
        raise InvalidIBAN(f"IBAN {iban.formatted} is outside the SEPA area", refusal="iban_outside_sepa")
    if iban.country_code == "NL" and iban.bank is None:
        raise InvalidIBAN(f"IBAN {iban.formatted} names no known Dutch bank (bank code {iban.bank_code})",
                          refusal="iban_unknown_bank")
    derived = str(iban.bic) if iban.bic else None
    if bic:
        try:
            given = BIC(bic.strip())
        except SchwiftyException:
            raise InvalidIBAN(f"BIC {bic!r} is not valid", refusal="bic_invalid", field="bic") from None
        if derived and str(given)[:6] != derived[:6]:
            raise InvalidIBAN(f"BIC {given} does not belong to IBAN {iban.formatted} (expected {derived})",
                              refusal="bic_mismatch", field="bic")
        derived = str(given)
    return BankAccount(iban.compact, derived, iban.bank_name)


#: Anything outside the EPC basic Latin set every SEPA bank accepts.
_NOT_SEPA_TEXT = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_LETTER_OR_DIGIT = re.compile(r"[A-Za-z0-9]")
#: EPC rulebook: a creditor's or debtor's name is at most 70 characters.
MAX_BANK_NAME = 70


def sepa_text(text: str, limit: int) -> str:
    """``text`` in the EPC basic Latin set, at most ``limit`` characters.

    Transliterated first ("Ñandú" → "Nandu", "ß" → "ss"), so the cut falls
    on what the bank will show; ``&`` becomes ``+`` and anything else
    outside the set a space.
    """
    ascii_text = unidecode(text or "").replace("&", "+")
    cleaned = " ".join(_NOT_SEPA_TEXT.sub(" ", ascii_text).split())
    return cleaned[:limit].rstrip()


def bank_name(text: str) -> str | None:
    """The name as a SEPA payment file will carry it, or None when nothing of
    it is usable: no letter or digit survives transliteration ("🎈🎈🎈",
    "★★★", "•••", "..."). A bank needs a name to book a payment to."""
    name = sepa_text(text, MAX_BANK_NAME)
    return name if _LETTER_OR_DIGIT.search(name) else None
