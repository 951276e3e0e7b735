"""The Dutch names the pages give to the codes pasdienst stores, and its Dutch numbers and dates.

One table per kind of code, plain dictionaries and Babel's formatting with
the locale ``nl_NL`` and nothing else (no Flask, no database), so services,
views, jobs, letters and tests can all read them. The app factory registers
them once as Jinja filters (:data:`FILTERS`) and functions (:data:`GLOBALS`);
templates write ``{{ event.action|audit_action }}`` or ``{{ euros(cents) }}``
and never keep a table or a formatter of their own. Refusals (an error's
code and parameters) become Dutch sentences in ``web/dutch.py``, from the
gettext catalogue. The holder's words about where to spend a voucher are in
``wallet/labels.py``.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

#: The locale of every Dutch page, letter and file, and the time zone their times are read in.
LOCALE = "nl_NL"
TIMEZONE = "Europe/Amsterdam"
_ZONE = ZoneInfo(TIMEZONE)


# -- numbers and dates ---------------------------------------------------------

def euros(cents: int) -> str:
    """``€ 1.234,50``, with a no-break space after the euro sign (Babel's ``nl_NL``), so the
    sign never ends a line without its amount."""
    return format_currency(Decimal(cents).scaleb(-2), "EUR", locale=LOCALE)


def whole_euros(cents: float) -> str:
    """``€ 1.235``: rounded to whole euros, for a chart's labels."""
    return format_currency(round(cents / 100), "EUR", format="\xa4\xa0#,##0", locale=LOCALE, currency_digits=False)


def number(value: int) -> str:
    """``12.345``: a count with the Dutch thousands separator."""
    return format_decimal(value, locale=LOCALE)


def decimal(value: float) -> str:
    """``120,5``: a number with a decimal comma, as many decimals as it has (at most three)."""
    return format_decimal(value, locale=LOCALE)


def day(value: date | datetime | None) -> str:
    """``31-12-2027``; a moment is read in Amsterdam. Empty for no date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "dd-MM-y", tzinfo=_ZONE, locale=LOCALE)
    return format_date(value, "dd-MM-y", locale=LOCALE)


def moment(value: datetime | None) -> str:
    """``31-12-2027 14:05`` in Amsterdam. Empty for no moment."""
    return format_datetime(value, "dd-MM-y HH:mm", tzinfo=_ZONE, locale=LOCALE) if value is not None else ""


def day_and_time(value: datetime) -> str:
    """``3 december 14:05`` in Amsterdam: when a figure was read, as a sentence on the pass page says it."""
    return format_datetime(value, "d MMMM HH:mm", tzinfo=_ZONE, locale=LOCALE)


def long_date(value: date) -> str:
    """``2 december 2027``, as a letter writes a date."""
    return format_date(value, "long", locale=LOCALE)


# -- names of codes ------------------------------------------------------------

#: The categories of CONTRACT.md, as the pass page, the letter, the till's statement and the back office name them.
CATEGORY_TITLES = {
    "sport_culture": "Sport en cultuur",
    "school": "School",
    "transport": "Vervoer",
    "clothing": "Kleding en schoenen",
    "digital": "Laptop of tablet",
    "other": "Overig",
}


def category_title(code: str | None) -> str:
    return CATEGORY_TITLES.get(code or "", (code or "").replace("_", " ").capitalize())


#: One voucher of each kind, as the back office names it.
VOUCHER_KIND_TITLES = {"budget": "Tegoed", "punchcard": "Strippenkaart", "cheque": "Cheque"}

#: The kinds of a line on a merchant's statement (a correction is a line of its own).
STATEMENT_KIND_TITLES = {"budget": "Kinderpas-tegoed", "punchcard": "Strippenkaart", "cheque": "Cheque", "correction": "Correctie"}

#: The roles of a login.
ROLE_TITLES = {
    "admin": "Beheerder", "finance": "Financiën", "caseworker": "Consulent", "merchant": "Aanbieder", "fund": "Fonds",
}

#: Why a maatwerk award is made (``maatwerk.models.REASONS``), as the form offers them.
MAATWERK_REASON_TITLES = {
    "membership": "Contributie",
    "equipment": "Materiaal of uitrusting",
    "school_trip": "Schoolreis of kamp",
    "lessons": "Lessen of cursus",
    "other": "Overig",
}

#: Why a maatwerk award is withdrawn (``maatwerk.models.WITHDRAW_REASONS``), as the withdraw form offers them.
MAATWERK_WITHDRAW_REASON_TITLES = {
    "mistake": "Vergissing bij het toekennen",
    "not_needed": "Niet meer nodig (gestopt of afgezegd)",
    "moved": "Kind verhuisd",
    "duplicate": "Dubbel toegekend",
    "other": "Overig",
}

#: The columns of the children CSV (CONTRACT.md) as the import's Dutch reasons name them: what
#: it is, and the column's name in the file beside it.
CHILD_COLUMN_TITLES = {
    "child_ref": "kindnummer (child_ref)",
    "first_name": "voornaam (first_name)",
    "birth_date": "geboortedatum (birth_date)",
    "household_ref": "huishouden (household_ref)",
    "income_pct": "inkomen (income_pct)",
    "override_reason": "reden consulent (override_reason)",
    "bsn": "BSN",
    "email": "e-mailadres (email)",
}

#: The fields staff type for families to read (``pasdienst.fields``), as a refusal names them: a merchant's
#: listing on the pass and the municipality's contact details.
FIELD_TITLES = {
    "place": "De plaats",
    "offer": "Wat de aanbieder biedt",
    "website": "Het webadres",
    "email": "Het e-mailadres",
    "phone": "Het telefoonnummer",
    "desk": "Het adres van de balie",
    "hours": "De regel met openingstijden",
}


def field_title(code: str | None) -> str:
    return FIELD_TITLES.get(code or "", code or "")


#: Why a child has its pass (``ChildPass.award_basis``).
BASIS_TITLES = {"full": "volledig", "sliding": "glijdende schaal", "override": "besluit consulent"}

#: Why a pass is reissued (``wallet.models.REISSUE_REASONS``), as the form offers them.
REISSUE_REASON_TITLES = {
    "lost": "kwijt",
    "stolen": "gestolen",
    "damaged": "beschadigd",
    "other": "anders",
}


def reissue_reason(code: str | None, note: str | None = None) -> str:
    """``kwijt``, or ``kwijt: gemeld door moeder`` with the note typed beside it."""
    title = REISSUE_REASON_TITLES.get(code or "", code or "")
    return f"{title}: {note}" if note else title


#: Every audit action (``pasdienst.access.models.AUDIT_ACTIONS``) as the log and the dashboard name it.
AUDIT_ACTION_TITLES = {
    "pass.issue": "Pas toegekend",
    "pass.block": "Pas geblokkeerd",
    "pass.reissue": "Vervangende pas gemaakt",
    "passes.issue": "Passen uitgegeven",
    "passes.export": "Bestand voor de brieven (mail-merge) gedownload",
    "child.register": "Kind aangemeld door consulent",
    "children.import": "Kinderen geïmporteerd",
    "year.close": "Jaar afgesloten",
    "reach.export": "Lijst huishoudens zonder gebruik gedownload",
    "reminder.plan": "Herinnering per e-mail gepland",
    "reminder.cancel": "Geplande herinnering geschrapt",
    "reminder.opt_out": "Adres afgemeld voor herinneringen",
    "scheme.create": "Regeling geladen",
    "scheme.update": "Regeling gewijzigd",
    "job.start": "Taak gestart",
    "budget.topup": "Budget opgehoogd",
    "municipality.budget_threshold": "Waarschuwingsgrens budget ingesteld",
    "municipality.set_iban": "Rekeningnummer gemeente ingesteld",
    "municipality.contact": "Contactgegevens voor gezinnen gewijzigd",
    "merchant.create": "Aanbieder toegevoegd",
    "merchant.status": "Status aanbieder gewijzigd",
    "merchant.rename": "Naam aanbieder gewijzigd",
    "merchant.listing": "Vermelding aanbieder op de pas gewijzigd",
    "merchant.iban_change_request": "IBAN-wijziging aangevraagd",
    "merchant.iban_change_confirm": "IBAN-wijziging bevestigd",
    "merchant.iban_change_cancel": "IBAN-wijziging ingetrokken",
    "voucher_binding.create": "Aanbieder aan tegoed gekoppeld",
    "voucher_binding.delete": "Koppeling aanbieder en tegoed opgeheven",
    "settlement.draft": "Afrekening gemaakt",
    "settlement.approved": "Afrekening goedgekeurd",
    "settlement.exported": "Betaalbestand gemaakt",
    "settlement.paid": "Afrekening als betaald gemeld",
    "settlement.cancelled": "Afrekening geannuleerd",
    "settlement.correct": "Betaling gecorrigeerd",
    "settlement.return_request": "Terugboeking door de bank vastgelegd",
    "settlement.return_confirm": "Terugboeking door de bank bevestigd",
    "settlement.return_withdraw": "Terugboeking door de bank ingetrokken",
    "cooperation.create": "Samenwerkingsverband opgericht",
    "cooperation.invite": "Uitgenodigd voor samenwerkingsverband",
    "cooperation.join": "Toegetreden tot samenwerkingsverband",
    "cooperation.leave": "Samenwerkingsverband verlaten",
    "cooperation.payout": "Uitbetaling samenwerkingsverband ingesteld",
    "cooperation.merchant_admit": "Aanbieder toegelaten in samenwerkingsverband",
    "cooperation.merchant_withdraw": "Aanbieder teruggetrokken uit samenwerkingsverband",
    "cooperation.run": "Betaalrun samenwerkingsverband gemaakt",
    "cooperation.run_exported": "Betaalbestand samenwerkingsverband gemaakt",
    "cooperation.run_paid": "Betaalrun samenwerkingsverband als betaald gemeld",
    "settlement.remit": "Afrekening overgedragen aan samenwerkingsverband",
    "user.create": "Account aangemaakt",
    "user.login": "Ingelogd",
    "user.password_change": "Wachtwoord gewijzigd",
    "user.password_reset": "Eenmalig wachtwoord gegeven",
    "user.activate": "Account weer toegang gegeven",
    "user.deactivate": "Account geblokkeerd",
    "token.create": "API-sleutel gemaakt",
    "token.revoke": "API-sleutel ingetrokken",
    "caseworker_cap.set": "Jaarlimiet consulenten ingesteld",
    "team.create": "Team gemaakt",
    "team.member_add": "Consulent in team gezet",
    "team.member_remove": "Consulent uit team gehaald",
    "team.budget": "Jaarbudget team ingesteld",
    "fund.create": "Fonds toegevoegd",
    "fund.topup": "Storting fonds geboekt",
    "fund.member_add": "Account voor fonds gemaakt",
    "maatwerk.award": "Maatwerk toegekend",
    "maatwerk.withdraw": "Maatwerk ingetrokken",
    "user.create_request": "Nieuw account aangevraagd (vier ogen)",
    "user.create_confirm": "Nieuw account bevestigd (vier ogen)",
    "user.create_reject": "Nieuw account afgewezen (vier ogen)",
    "user.create_cancel": "Aanvraag nieuw account ingetrokken",
    "user.password_reset_request": "Nieuw wachtwoord aangevraagd (vier ogen)",
    "user.password_reset_confirm": "Nieuw wachtwoord bevestigd (vier ogen)",
    "user.password_reset_reject": "Nieuw wachtwoord afgewezen (vier ogen)",
    "user.password_reset_cancel": "Aanvraag nieuw wachtwoord ingetrokken",
    "merchant.approve_request": "Goedkeuring aanbieder aangevraagd (vier ogen)",
    "merchant.approve_confirm": "Goedkeuring aanbieder bevestigd (vier ogen)",
    "merchant.approve_reject": "Goedkeuring aanbieder afgewezen (vier ogen)",
    "merchant.approve_cancel": "Aanvraag goedkeuring aanbieder ingetrokken",
}

#: What an audit event is about (its ``entity_type``).
ENTITY_TITLES = {
    "user": "gebruiker", "merchant": "aanbieder", "pass": "pas", "child": "kind", "municipality": "gemeente",
    "scheme": "regeling", "api_token": "API-sleutel", "iban_change": "IBAN-wijziging", "ledger_transfer": "boeking",
    "caseworker_cap": "jaarlimiet", "voucher_binding": "koppeling", "four_eyes_request": "verzoek",
    "settlement_batch": "afrekening", "redemption": "betaling", "job": "taak",
    "reminder_moment": "herinnering", "cooperation": "samenwerkingsverband",
    "cooperation_run": "betaalrun samenwerkingsverband",
    "team": "team", "fund": "fonds", "maatwerk_award": "maatwerk",
}

#: The states of passes, merchants, batches and requests, as the pages write them.
STATUS_TITLES = {
    "active": "actief", "blocked": "geblokkeerd", "replaced": "vervangen", "expired": "verlopen",
    "pending": "aangemeld", "approved": "goedgekeurd", "suspended": "geschorst", "rejected": "afgewezen",
    "draft": "concept", "exported": "betaalbestand gemaakt", "paid": "betaald", "cancelled": "geannuleerd",
    "requested": "aangevraagd", "confirmed": "bevestigd", "withdrawn": "ingetrokken",
    "invited": "uitgenodigd", "remitted": "overgedragen",
}

#: The fields of an audit event's before and after.
AUDIT_FIELD_TITLES = {
    "pass": "pas", "child_id": "kind (nummer)", "status": "status", "generation": "generatie",
    "block_reason": "reden blokkeren", "replaces": "vervangt", "reason": "reden", "note": "toelichting",
    "award_basis": "toekenning", "total_cents": "totaal", "amount_cents": "bedrag", "count": "aantal",
    "child_ref": "klantnummer", "first_name": "voornaam", "override_reason": "reden toekenning",
    "name": "naam", "categories": "categorieën", "iban": "IBAN", "bic": "BIC", "old_iban": "oud IBAN",
    "kvk_number": "KvK-nummer", "address": "adres", "contact_email": "e-mailadres", "email": "e-mailadres",
    "role": "rol", "active": "heeft toegang", "year": "jaar", "max_passes": "hoogstens passen",
    "imported": "nieuw", "updated": "bijgewerkt", "unchanged": "ongewijzigd", "rejected": "afgewezen regels",
    "digest": "vingerafdruk", "items": "onderdelen", "reference": "omschrijving",
    "low_budget_threshold_cents": "waarschuwingsgrens", "issued": "uitgegeven", "vouchers": "tegoeden",
    "until": "betalingen vóór", "message_id": "kenmerk bij de bank", "execution_date": "uitvoerdatum",
    "voucher_code": "tegoed", "kind": "soort", "passes": "passen", "merchant": "aanbieder", "user": "gebruiker", "job": "taak",
    "spent_until": "besteed tot en met", "under_cents": "besteed minder dan", "households": "huishoudens",
    "children": "kinderen", "addresses": "adressen", "send_on": "verstuurdatum", "title": "naam", "moment": "herinnering",
    "cooperation": "samenwerkingsverband", "code": "code", "payout": "uitbetaling", "lead": "penvoerder",
    "municipality": "gemeente", "members": "leden", "run": "betaalrun", "batches": "afrekeningen",
    "place": "plaats", "offer": "aanbod", "website": "website",
    "phone": "telefoonnummer", "desk": "balie (adres)", "hours": "openingstijden",
    "team": "team", "fund": "fonds", "award": "toekenning", "category": "categorie", "budget_cents": "jaarbudget",
    "returned_cents": "terug", "child": "kind", "withdraw_reason": "reden intrekken",
}

#: Who pays a cooperation's merchants (``cooperations.models.PAYOUTS``).
PAYOUT_TITLES = {
    "members": "elke gemeente betaalt zelf",
    "cooperation": "het samenwerkingsverband betaalt uit één rekening",
}

#: Where a cooperation's payment run stands (``cooperations.models.RUN_STATUSES``).
RUN_STATUS_TITLES = {
    "remitted": "Aandelen overgemaakt, betaalbestand nog maken",
    "exported": "Betaalbestand gemaakt",
    "paid": "Betaald",
}

#: Background jobs (``jobs.kinds``): what each does, where it stands, the step its progress bar counts,
#: and the plural a job's summary uses for each kind of voucher.
JOB_KIND_TITLES = {
    "issue_passes": "Passen uitgeven", "letters": "Brieven", "year_end": "Jaarafsluiting", "reminders": "Herinneringen",
}
JOB_STATE_TITLES = {"queued": "wacht op de verwerker", "running": "bezig", "done": "klaar", "failed": "mislukt"}
JOB_STEP_TITLES = {
    "issue": "Passen uitgeven", "qr": "QR-codes maken", "letters": "Brieven maken",
    "year_end": "Tegoeden terug naar het fonds", "mail": "E-mails versturen",
}
VOUCHER_KIND_PLURALS = {"budget": "tegoeden", "punchcard": "strippenkaarten", "cheque": "cheques"}

#: The title of an error page, by HTTP status; what went wrong is the catalogue's sentence below it.
ERROR_PAGE_TITLES = {
    400: "Ongeldig verzoek",
    401: "Niet ingelogd",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Niet toegestaan",
    409: "Niet gelukt",
    413: "Bestand te groot",
    422: "Controleer de invoer",
    429: "Te veel pogingen",
    500: "Er ging iets mis",
    503: "Tijdelijk niet beschikbaar",
}


#: The usage report's CSV columns (``reports.usage.usage_table``) as the page downloads name them. The
#: API's CSV keeps the machine names, which integrations read.
USAGE_COLUMN_TITLES = {
    "figure": "Kengetal", "value": "Waarde",
    "category": "Categorie", "band": "Leeftijd", "month": "Maand",
    "merchant_id": "Nummer aanbieder", "name": "Aanbieder",
    "children_awarded": "Kinderen met tegoed", "eligible_children": "Kinderen met een pas",
    "children_with_redemption": "Kinderen die betaalden", "usage_share": "Gebruik (deel van 1)",
    "redemptions": "Betalingen", "awarded_eur": "Toegekend (euro)", "spent_eur": "Besteed (euro)",
    "expired_eur": "Vervallen (euro)", "outstanding_eur": "Nog te besteden (euro)",
    "week": "Week", "starts": "Vanaf", "new_children": "Kinderen voor het eerst", "reached_children": "Kinderen bereikt tot dan",
    "reached_share": "Bereikt (deel van 1)", "district": "Postcodegebied", "send_on": "Dag", "title": "Herinnering",
    "households": "Huishoudens gemaild", "children": "Kinderen in de e-mails", "households_used": "Huishoudens die daarna betaalden",
    "children_used": "Kinderen die daarna betaalden", "share_used": "Daarna gebruikt (deel van 1)",
    "window_weeks": "Binnen weken", "window_closed": "Periode voorbij",
    "giver_kind": "Team of fonds", "giver": "Naam", "awards": "Toekenningen",
}
#: The rows of the usage report's summary table (its ``figure`` column).
USAGE_FIGURE_TITLES = {
    "municipality": "Gemeente", "year": "Jaar", "eligible_children": "Kinderen met een pas",
    "children_with_redemption": "Kinderen die de pas gebruikten", "usage_share": "Gebruik (deel van 1)",
    "usage_band": "Gebruiksklasse", "awarded_eur": "Toegekend (euro)", "spent_eur": "Besteed (euro)",
    "expired_eur": "Vervallen (euro)", "outstanding_eur": "Nog te besteden (euro)",
}


def audit_action(code: str | None) -> str:
    return AUDIT_ACTION_TITLES.get(code or "", code or "")


def entity_title(code: str | None) -> str:
    return ENTITY_TITLES.get(code or "", code or "")


def status_title(code: str | None) -> str:
    return STATUS_TITLES.get(code or "", code or "")


def audit_field(key: str) -> str:
    return AUDIT_FIELD_TITLES.get(key, key.replace("_", " "))


def audit_value(value: object, key: str = "") -> str:
    """A value of an event's before or after as staff read it: amounts in euros, states and reasons in Dutch."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if key.endswith("_cents") and isinstance(value, int):
        return euros(value)
    if key == "status" and isinstance(value, str):
        return status_title(value)
    if key == "payout" and value in PAYOUT_TITLES:
        return PAYOUT_TITLES[str(value)]
    if key == "reason" and value in REISSUE_REASON_TITLES:
        return REISSUE_REASON_TITLES[str(value)]
    if key == "reason" and value in MAATWERK_REASON_TITLES:
        return MAATWERK_REASON_TITLES[str(value)].lower()
    if key == "withdraw_reason" and value in MAATWERK_WITHDRAW_REASON_TITLES:
        return MAATWERK_WITHDRAW_REASON_TITLES[str(value)].lower()
    if key == "category" and isinstance(value, str):
        return category_title(value)
    if isinstance(value, list) and all(isinstance(item, str | int) for item in value):
        return ", ".join(str(item) for item in value)
    return str(value)


#: The Jinja filters of these tables (``app.jinja_env.filters.update(FILTERS)``).
FILTERS: dict[str, Callable[..., str]] = {
    "reissue_reason": reissue_reason,
    "audit_action": audit_action,
    "entity_title": entity_title,
    "status_title": status_title,
    "audit_field": audit_field,
    "audit_value": audit_value,
    "category_title": category_title,
    "euros": euros,
    "day": day,
    "moment": moment,
    "day_and_time": day_and_time,
    "long_date": long_date,
}

#: The functions templates call (``app.jinja_env.globals.update(GLOBALS)``): ``{{ euros(b.total_cents) }}``.
GLOBALS: dict[str, object] = {
    "euros": euros,
    "whole_euros": whole_euros,
    "number": number,
    "day": day,
    "moment": moment,
    "long_date": long_date,
    "category_titles": CATEGORY_TITLES,
    "role_titles": ROLE_TITLES,
    "maatwerk_reason_titles": MAATWERK_REASON_TITLES,
    "maatwerk_withdraw_reason_titles": MAATWERK_WITHDRAW_REASON_TITLES,
    "basis_titles": BASIS_TITLES,
    "voucher_kind_titles": VOUCHER_KIND_TITLES,
}
