import re, sys
from pathlib import Path
PO = Path("pasdienst/translations/nl/LC_MESSAGES/messages.po")
entries = {}
def E(code, english, dutch): entries[code] = (english, dutch)
R = []
def S(path, old, new, count=1): R.append((path, old, new, count))
Q = "pasdienst/admin/requests.py"
S(Q, '''NOT_TWO_PEOPLE = (
    "Dit verzoek moet een andere beheerder bevestigen: niet wie het aanvroeg, niet wie diens account "
    "aanmaakte of diens wachtwoord herstelde, en niet wie door dezelfde beheerder is aangemaakt (vier ogen)."
)''', '''#: Why an admin of the requester's lineage may not confirm (a refusal code of the catalogue).
NOT_TWO_PEOPLE = "request_four_eyes"''')
E("request_four_eyes", "another admin, outside the requester's lineage, must confirm this request", "Dit verzoek moet een andere beheerder bevestigen: niet wie het aanvroeg, niet wie diens account aanmaakte of diens wachtwoord herstelde, en niet wie door dezelfde beheerder is aangemaakt (vier ogen).")
S(Q, 'raise SecondAdminRequired("Een verzoek vraagt een ingelogde beheerder.")', 'raise SecondAdminRequired("a request needs a signed-in admin", refusal="request_needs_admin")')
E("request_needs_admin", "a request needs a signed-in admin", "Een verzoek vraagt een ingelogde beheerder.")
S(Q, 'raise ValidationFailed("Alleen een beheerder of financiën-account vraagt een tweede beheerder.")', 'raise ValidationFailed("only an admin or finance account needs a second admin", refusal="request_role")')
E("request_role", "only an admin or finance account needs a second admin", "Alleen een beheerder of financiën-account vraagt een tweede beheerder.")
S(Q, '''raise ValidationFailed(f"'{email}' is geen e-mailadres.") from None''', '''raise ValidationFailed(f"{email!r} is not an e-mail address", refusal="email_invalid", email=email) from None''')
S(Q, 'raise Conflict(f"Er is al een account met e-mailadres {address}.")', 'raise Conflict(f"an account with e-mail address {address} exists", refusal="account_exists", email=address)')
S(Q, 'raise Conflict(f"Er is al een verzoek om een account voor {address}; het wacht op een tweede beheerder.")', 'raise Conflict(f"an account for {address} is already requested", refusal="account_requested", email=address)')
E("account_requested", "an account for ... is already requested", "Er is al een verzoek om een account voor %(email)s; het wacht op een tweede beheerder.")
S(Q, 'raise ValidationFailed("Alleen het wachtwoord van een beheerder of financiën vraagt een tweede beheerder.")', 'raise ValidationFailed("only an admin\'s or finance\'s password needs a second admin", refusal="reset_role")')
E("reset_role", "only an admin's or finance's password needs a second admin", "Alleen het wachtwoord van een beheerder of financiën vraagt een tweede beheerder.")
S(Q, 'raise ValidationFailed("Uw eigen wachtwoord wijzigt u zelf, via ‘Wachtwoord wijzigen’.")', 'raise ValidationFailed("change your own password yourself", refusal="reset_own_password")')
E("reset_own_password", "change your own password yourself", "Uw eigen wachtwoord wijzigt u zelf, via ‘Wachtwoord wijzigen’.")
S(Q, 'raise Conflict(f"{merchant.name} is al goedgekeurd.")', 'raise Conflict(f"{merchant.name} is already approved", refusal="merchant_approved_already", name=merchant.name)', 2)
E("merchant_approved_already", "the merchant is already approved", "%(name)s is al goedgekeurd.")
S(Q, 'raise Conflict(f"De goedkeuring van {merchant.name} is al aangevraagd; een andere beheerder moet haar bevestigen.")', 'raise Conflict(f"the approval of {merchant.name} is already requested", refusal="merchant_approval_requested",\n                       name=merchant.name)')
E("merchant_approval_requested", "the approval of ... is already requested", "De goedkeuring van %(name)s is al aangevraagd; een andere beheerder moet haar bevestigen.")
S(Q, 'raise NotFound("Dit verzoek is niet gevonden.")', 'raise NotFound("no such request", refusal="request_not_found")')
E("request_not_found", "no such request", "Dit verzoek is niet gevonden.")
S(Q, 'raise Conflict("Dit verzoek is al afgehandeld.")', 'raise Conflict("this request was already decided", refusal="request_decided")')
E("request_decided", "this request was already decided", "Dit verzoek is al afgehandeld.")
S(Q, '''    if actor.role != "admin":
        return "Alleen een beheerder bevestigt verzoeken."''', '''    if actor.role != "admin":
        return "request_needs_admin"''')
S(Q, '''        return "Een nieuw wachtwoord voor uw eigen account bevestigt een andere beheerder."''', '''        return "request_own_password"''')
E("request_own_password", "another admin confirms a new password for your own account", "Een nieuw wachtwoord voor uw eigen account bevestigt een andere beheerder.")
S(Q, '''    reason = refusal(session, actor, request)
    if reason is not None:
        raise SecondAdminRequired(reason)''', '''    reason = refusal(session, actor, request)
    if reason is not None:
        raise SecondAdminRequired(f"this admin may not confirm request {request.id}", refusal=reason)''')
S(Q, '''    """Why ``actor`` may not confirm ``request`` (None: they may)."""''', '''    """Why ``actor`` may not confirm ``request``, as a refusal code of the catalogue (None: they may)."""''')
S(Q, 'raise Conflict(f"Er is intussen al een account met e-mailadres {request.email}; wijs dit verzoek af.")', 'raise Conflict(f"an account with e-mail address {request.email} exists meanwhile", refusal="account_exists_meanwhile",\n                       email=request.email)')
E("account_exists_meanwhile", "an account with this e-mail address exists meanwhile", "Er is intussen al een account met e-mailadres %(email)s; wijs dit verzoek af.")
S(Q, 'raise NotFound("Dit account is niet gevonden.")', 'raise NotFound("no such account", refusal="account_not_found")')
S(Q, 'raise NotFound("Deze aanbieder is niet gevonden.")', 'raise NotFound("no such merchant in this municipality", refusal="merchant_not_found")')
B = "pasdienst/admin/browse.py"
S(B, 'raise NotFound("geen gemeente bij dit account")', 'raise NotFound("this account belongs to no municipality", refusal="no_municipality")')
S(B, 'raise ValidationFailed(f"Zoek op hoogstens {MAX_QUERY} tekens.")', 'raise ValidationFailed(f"search for at most {MAX_QUERY} characters", refusal="search_too_long", limit=MAX_QUERY)')
E("search_too_long", "search for at most ... characters", "Zoek op hoogstens %(limit)s tekens.")

changed = {}
bad = 0
for path, old, new, count in R:
    text = changed.get(path) or Path(path).read_text(encoding="utf-8")
    n = text.count(old)
    if n != count:
        print(f"!! {path}: {n} matches (want {count}) for: {old[:80]!r}"); bad += 1; continue
    changed[path] = text.replace(old, new)
for path, text in changed.items():
    Path(path).write_text(text, encoding="utf-8")
po = PO.read_text(encoding="utf-8")
have = set(re.findall(r'^msgid "([^"]+)"', po, flags=re.M))
add = [f'\n#. English: {en}\nmsgid "{c}"\nmsgstr "{nl}"\n' for c, (en, nl) in sorted(entries.items()) if c not in have]
PO.write_text(po.rstrip("\n") + "\n" + "".join(add), encoding="utf-8")
print(len(add), "added", bad, "bad")
