import re
from pathlib import Path
PO = Path("pasdienst/translations/nl/LC_MESSAGES/messages.po")
entries = {}
def E(code, english, dutch): entries[code] = (english, dutch)
R = []
def S(path, old, new, count=1): R.append((path, old, new, count))
E("already_reversed", "this transfer has already been reversed", "Deze boeking is al teruggedraaid.")
E("demo_refused", "the demo data set is refused in production", "De demogegevens (met vaste wachtwoorden) worden niet geladen als PASDIENST_ENV=production.")
E("idempotency_key_reused", "this Idempotency-Key was already used for a different request", "Deze betaling is al met andere gegevens verstuurd. Scan de pas opnieuw.")
E("insufficient_balance", "the voucher or account holds less than asked", "Onvoldoende tegoed: er staat nog %(balance_cents)s op.")
E("invalid_code", "this is not a valid pass code", "Deze code is ongeldig.")
E("mail_not_configured", "no mail server is configured (PASDIENST_SMTP_URL)", "Er is geen mailserver ingesteld (PASDIENST_SMTP_URL); vraag de beheerder van pasdienst.")
E("mail_unavailable", "the mail server cannot be reached", "De mailserver is nu niet bereikbaar. Probeer het later opnieuw.")
E("not_accepted_here", "this voucher cannot be spent at this merchant", "Dit tegoed is niet geldig bij deze aanbieder.")
E("pass_blocked", "this pass is blocked", "Deze pas is geblokkeerd, bijvoorbeeld omdat hij kwijt is. Het gezin krijgt een nieuwe pas.")
E("pass_replaced", "this pass was replaced by a new pass (reissued)", "Deze pas is vervangen door een nieuwe pas. Het gezin heeft een nieuwe brief met een nieuwe QR-code en code: scan of typ die. Deze oude pas werkt niet meer.")
E("pass_expired", "this pass is not valid today", "Deze pas is verlopen of nog niet geldig.")
E("pass_state", "the pass is not in a state for this", "Dat kan niet met deze pas in de staat waarin hij nu is.")
E("pass_reissue_expired", "an expired pass cannot be reissued", "Pas %(pass_ref)s is verlopen op %(valid_until)s en kan niet worden vervangen.")
E("rate_limited", "too many requests", "Te veel pogingen, wacht even.")
E("request_in_progress", "a request with this Idempotency-Key is still being processed", "Deze betaling wordt nog verwerkt. Probeer het zo opnieuw.")
E("void_window_closed", "a redemption can be voided only on its day, before settlement", "Annuleren kan niet meer: dat kan alleen op dezelfde dag, vóór de afrekening met de gemeente.")
W = "pasdienst/wallet/errors.py"
S(W, '''    return PassBlocked("this pass was replaced by a new pass (reissued); the family has a new letter", reason="replaced")''',
  '''    return PassBlocked("this pass was replaced by a new pass (reissued); the family has a new letter", reason="replaced",
                       refusal="pass_replaced")''')
S(W, '''    def __init__(self, message: str = "this pass is blocked", *, reason: str = "blocked") -> None:
        super().__init__(message, reason=reason)''', '''    def __init__(self, message: str = "this pass is blocked", *, reason: str = "blocked", refusal: str | None = None) -> None:
        super().__init__(message, refusal=refusal, reason=reason)''')
L = "pasdienst/wallet/lifecycle.py"
S(L, '''        raise PassStateConflict(f"pass {child_pass.pass_number} is {child_pass.status}, not active: it cannot be blocked")''',
  '''        raise PassStateConflict(f"pass {child_pass.pass_number} is {child_pass.status}, not active: it cannot be blocked",
                                refusal="pass_not_blockable", pass_ref=child_pass.pass_number)''')
S(L, '''        raise PassStateConflict(f"pass {old.pass_number} is {old.status}: it cannot be reissued")''',
  '''        raise PassStateConflict(f"pass {old.pass_number} is {old.status}: it cannot be reissued",
                                refusal="pass_not_reissuable", pass_ref=old.pass_number, status=old.status)''')
S(L, '''        raise PassStateConflict(f"pass {old.pass_number} expired on {old.valid_until}: it cannot be reissued")''',
  '''        raise PassStateConflict(f"pass {old.pass_number} expired on {old.valid_until}: it cannot be reissued",
                                refusal="pass_reissue_expired", pass_ref=old.pass_number, valid_until=old.valid_until)''')
I = "pasdienst/wallet/issuing.py"
S(I, '''        raise PassStateConflict(
            f"the {year} scheme of {municipality.code} ended on {scheme.valid_until}; no passes can be issued for it"
        )''', '''        raise PassStateConflict(
            f"the {year} scheme of {municipality.code} ended on {scheme.valid_until}; no passes can be issued for it",
            refusal="scheme_over", year=year,
        )''')
bad = 0; changed = {}
for path, old, new, count in R:
    text = changed.get(path) or Path(path).read_text(encoding="utf-8")
    if text.count(old) != count:
        print("!!", path, old[:70]); bad += 1; continue
    changed[path] = text.replace(old, new)
for path, text in changed.items(): Path(path).write_text(text, encoding="utf-8")
po = PO.read_text(encoding="utf-8")
have = set(re.findall(r'^msgid "([^"]+)"', po, flags=re.M))
add = [f'\n#. English: {en}\nmsgid "{c}"\nmsgstr "{nl}"\n' for c, (en, nl) in sorted(entries.items()) if c not in have]
PO.write_text(po.rstrip("\n") + "\n" + "".join(add), encoding="utf-8")
print(len(add), "added", bad, "bad")
