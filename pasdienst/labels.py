"""The Dutch names the staff pages give to the codes pasdienst stores.

One table per kind of code, plain dictionaries and nothing else (no Flask,
no database), so services, views and tests can all read them. The app
factory registers them once as Jinja filters (:data:`FILTERS`); templates
write ``{{ event.action|audit_action }}`` and never keep a table of their own.
The holder's words (categories, voucher titles) are in ``wallet/labels.py``.
"""
from __future__ import annotations

from collections.abc import Callable

from .money import format_euros

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
    "merchant.create": "Aanbieder toegevoegd",
    "merchant.status": "Status aanbieder gewijzigd",
    "merchant.rename": "Naam aanbieder gewijzigd",
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
    "user.create": "Account aangemaakt",
    "user.login": "Ingelogd",
    "user.password_change": "Wachtwoord gewijzigd",
    "user.password_reset": "Eenmalig wachtwoord gegeven",
    "user.activate": "Account weer toegang gegeven",
    "user.deactivate": "Account geblokkeerd",
    "token.create": "API-sleutel gemaakt",
    "token.revoke": "API-sleutel ingetrokken",
    "caseworker_cap.set": "Jaarlimiet consulenten ingesteld",
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
    "reminder_moment": "herinnering",
}

#: The states of passes, merchants, batches and requests, as the pages write them.
STATUS_TITLES = {
    "active": "actief", "blocked": "geblokkeerd", "replaced": "vervangen", "expired": "verlopen",
    "pending": "aangemeld", "approved": "goedgekeurd", "suspended": "geschorst", "rejected": "afgewezen",
    "draft": "concept", "exported": "betaalbestand gemaakt", "paid": "betaald", "cancelled": "geannuleerd",
    "requested": "aangevraagd", "confirmed": "bevestigd", "withdrawn": "ingetrokken",
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
        return format_euros(value, dutch=True, symbol=True)
    if key == "status" and isinstance(value, str):
        return status_title(value)
    if key == "reason" and value in REISSUE_REASON_TITLES:
        return REISSUE_REASON_TITLES[str(value)]
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
}
