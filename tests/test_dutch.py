"""One Dutch layer: every refusal code the code raises has a Dutch sentence in the nl catalogue.

Services name their refusals (``refusal="..."``, an error class's ``code``,
a children row's or a scheme file's problem code); the pages say them in
Dutch from ``pasdienst/translations/nl/LC_MESSAGES/messages.po`` through
``pasdienst/web/dutch.py``. These tests read the source for the codes, so a
new refusal without a sentence, a sentence no code uses any more, a fuzzy or
empty entry, or a placeholder the sentence cannot fill fails here.
"""
from __future__ import annotations

import ast
import os
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import pasdienst
from pasdienst.errors import ValidationFailed
from pasdienst.wallet.children import _REASONS
from pasdienst.wallet.schemes import _PROBLEMS
from pasdienst.web import dutch

SOURCE = Path(pasdienst.__file__).resolve().parent
#: The kinds of error rather than refusals of their own (CONTRACT.md's generic codes).
GENERIC = {"error", "validation_error", "not_found", "conflict", "forbidden", "unauthenticated"}
#: What a failed background job stores besides an error's code (``jobs/services.py``).
JOB_CODES = {"interrupted", "internal_error"}


def _catalogue():
    with dutch.catalogue().open("rb") as file:
        return read_po(file, locale="nl", domain="messages")


def _entries() -> dict[str, str]:
    return {message.id: message.string for message in _catalogue() if message.id}


def _raised_codes() -> set[str]:
    """``refusal="..."`` in the source, the ``code = "..."`` and ``refusal = "..."`` of error classes, and
    the ``("sepa.creditor_iban", {...})`` pairs of an error's ``reasons``."""
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'\brefusal"?(?:=|: )"([a-z0-9_.]+)"', text))  # refusal="x" or "refusal": "x"
        found.update(re.findall(r'\("([a-z0-9_]+\.[a-z0-9_]+)", \{', text))  # a sub-refusal among "reasons"
        found.update(re.findall(r'^    (?:code|refusal) = "([a-z0-9_.]+)"', text, flags=re.M))
    return found - GENERIC


def _problem_codes() -> set[str]:
    return {f"row.{code}" for code in _REASONS} | {f"scheme.{code}" for code in _PROBLEMS}


def test_every_refusal_the_code_raises_has_a_dutch_sentence():
    missing = sorted((_raised_codes() | _problem_codes()) - set(_entries()))
    assert not missing, f"add these to {dutch.catalogue()}: {missing}"


def test_every_sentence_belongs_to_a_refusal_the_code_raises():
    known = _raised_codes() | _problem_codes() | GENERIC | set(dutch.TILL_CODES)
    # job.<code>: what a job that failed with that code did (nothing), on its page.
    # notice.<key> (what a page tells after a form post) and report.<key> (the usage report's words):
    # their own tests below hold those to the code.
    unused = sorted(code for code in _entries()
                    if not code.startswith(("notice.", "report.")) and code.removeprefix("job.") not in known | JOB_CODES)
    assert not unused, f"no code raises these any more: {unused}"


def test_the_till_gets_every_refusal_it_shows_from_the_catalogue():
    messages = dutch.till_messages()
    assert set(messages) == set(dutch.TILL_CODES) and all(messages.values())
    assert messages["pass_replaced"].startswith("Deze pas is vervangen door een nieuwe pas.")


def test_each_code_has_one_entry():
    # Two entries for one code: the catalogue keeps one of them, silently, and a page says the other's words.
    ids = re.findall(r'^msgid "(.+)"$', dutch.catalogue().read_text(encoding="utf-8"), flags=re.M)
    assert sorted(code for code in set(ids) if ids.count(code) > 1) == []


def test_no_entry_is_fuzzy_or_empty():
    # gettext skips a fuzzy entry without a word, and the page would fall back to the code.
    catalogue = _catalogue()
    assert not catalogue.fuzzy
    bad = [m.id for m in catalogue if m.id and (m.fuzzy or not m.string or not m.string.strip())]
    assert not bad


def test_every_sentence_fills_its_placeholders():
    for code, sentence in _entries().items():
        values = defaultdict(lambda: "x")
        assert "{" not in re.sub(r"\[\{[^]]*\}\]", "", sentence), code  # no str.format left over
        sentence % values  # raises on a lone % or a broken placeholder


def test_a_refusal_is_said_with_its_parameters_in_dutch():
    refused = ValidationFailed("the child's details are not valid", refusal="child_details_invalid",
                               problem=__import__("pasdienst.wallet.children", fromlist=["RowProblem"]).RowProblem(
                                   "missing", column="birth_date"))
    assert dutch.refusal(refused) == "Deze gegevens kloppen niet: geboortedatum (birth_date) ontbreekt."


def test_amounts_and_dates_among_the_parameters_are_written_the_dutch_way():
    assert dutch._dutch_value("needed_cents", 123456) == "€\xa01.234,56"
    assert dutch._dutch_value("status", "blocked") == "geblokkeerd"
    assert dutch._dutch_value("category", "clothing") == "Kleding en schoenen"


def test_the_catalogue_is_compiled_again_when_the_po_is_newer(tmp_path):
    source = tmp_path / "translations"
    po = dutch.catalogue(source)
    po.parent.mkdir(parents=True)
    po.write_bytes(dutch.catalogue().read_bytes())
    compiled = dutch.compile_catalogue(source)
    mo = po.with_suffix(".mo")
    assert compiled == source and mo.stat().st_size > 0
    before = mo.stat().st_mtime
    os.utime(po, (before + 10, before + 10))
    dutch.compile_catalogue(source)
    assert mo.stat().st_mtime > before


@pytest.mark.parametrize("code", ["row.missing", "scheme.missing"])
def test_the_package_catalogue_is_compiled(code):
    assert dutch.say(code, {"column": "x"}) is not None


# -- what a page tells after a form post (notices) ----------------------------------------------------------

def _calls(tree: ast.AST, *names: str) -> list[ast.Call]:
    """Calls of a function named ``names`` (``name(...)`` or ``module.name(...)``)."""
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)) in names
    ]


def _notice_keys(call: ast.Call) -> list[str] | None:
    """The keys a ``notice(...)`` call can name: a literal, or a choice between literals; None for anything else."""
    key = call.args[0] if call.args else None
    options = [key.body, key.orelse] if isinstance(key, ast.IfExp) else [key]
    if all(isinstance(o, ast.Constant) and isinstance(o.value, str) for o in options):
        return [o.value for o in options]  # type: ignore[union-attr]
    return None


def _sources() -> dict[Path, ast.AST]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in SOURCE.rglob("*.py")
            if "migrations" not in path.parts}


def _named_notices() -> dict[str, list[str]]:
    """Every ``notice("key", ...)`` in the source: key -> where."""
    named: dict[str, list[str]] = defaultdict(list)
    for path, tree in _sources().items():
        for call in _calls(tree, "notice"):
            for key in _notice_keys(call) or []:
                named[key].append(f"{path.relative_to(SOURCE)}:{call.lineno}")
    return named


def test_a_notice_is_named_by_a_literal_key():
    # A key put together at run time could be missing from the catalogue without a test noticing.
    computed = [f"{path.relative_to(SOURCE)}:{call.lineno}" for path, tree in _sources().items()
                for call in _calls(tree, "notice") if _notice_keys(call) is None]
    assert not computed


def _own_words(expression: ast.AST) -> list[int]:
    """Lines where ``expression`` holds words of its own: an f-string, or a string with a space in it
    (a sentence; a key such as ``"created"`` has none)."""
    return [node.lineno for node in ast.walk(expression)
            if isinstance(node, ast.JoinedStr)
            or (isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value.strip())]


def _posts_in_own_words(tree: ast.AST) -> list[int]:
    """``change(success=...)``, ``flash(...)`` and ``tell(...)`` calls that hold words of their own."""
    found = []
    for call in _calls(tree, "change"):
        found += [line for keyword in call.keywords if keyword.arg == "success" for line in _own_words(keyword.value)]
    for call in _calls(tree, "flash", "tell"):
        found += [line for arg in call.args[:1] for line in _own_words(arg)]
    return sorted(set(found))


def test_the_check_for_own_words_finds_them():
    said = ast.parse('''
change(work, success=lambda b: f"Afrekening B{b.id} is gemaakt.", target="/")
change(work, success="Het is gedaan.", target="/")
flash("Kies een jaar.", "error")
change(work, success=lambda b: notice("batch_paid", batch=b.id), target="/")
tell(notice("year_missing"), "error")
''')
    assert _posts_in_own_words(said) == [2, 3, 4]


def test_no_view_flashes_or_reports_success_in_words_of_its_own():
    """A form post's message comes from the catalogue: ``change(success=notice(...))``, ``tell(notice(...))``;
    a ``flash`` or a ``success`` with a sentence (or an f-string) in it is Dutch kept in the view."""
    found = []
    for path, tree in _sources().items():
        found += [f"{path.relative_to(SOURCE)}:{line}" for line in _posts_in_own_words(tree)]
    assert not found, f"say these through dutch.notice and the catalogue: {found}"


def test_every_notice_a_view_names_has_a_sentence_and_every_sentence_is_named():
    named = set(_named_notices())
    in_catalogue = {code.removeprefix("notice.") for code in _entries() if code.startswith("notice.")}
    assert sorted(named - in_catalogue) == [], f"add these to {dutch.catalogue()} as notice.<key>"
    assert sorted(in_catalogue - named) == [], "no view names these notices any more"


def test_a_notice_is_said_with_its_parameters_in_dutch():
    assert dutch.told(dutch.notice("budget_raised", added_cents=123456)) == "Het budget is opgehoogd met €\xa01.234,56."
    assert dutch.told(dutch.notice("reminder_planned", title="Start school", send_on=date(2027, 8, 30))) == (
        "Herinnering ‘Start school’ gepland op 30-08-2027.")
    assert dutch.told(dutch.notice("merchant_status_set", name="Sportclub", status="suspended")) == "Sportclub is geschorst."
    assert dutch.told(dutch.notice("batch_created", batch=7, count=1200, total_cents=5000)).startswith(
        "Afrekening B7 is gemaakt: 1.200 betalingen, €\xa050,00.")


# -- the usage report's note and chart captions -------------------------------------------------------------

def test_every_report_sentence_is_named_in_the_code_and_every_name_has_one():
    named = set()
    for path in SOURCE.rglob("*.py"):
        named.update(re.findall(r'"(report\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    in_catalogue = {code for code in _entries() if code.startswith("report.")}
    assert sorted(named - in_catalogue) == [] and sorted(in_catalogue - named) == []


def test_the_publication_says_what_it_hides_besides_counts_under_five():
    # A part is hidden when its rest is small, and a second group where groups add up: the reader is told both.
    from pasdienst.reports import views
    from pasdienst.reports.usage import publication_note

    assert "als het totaal min dat deel minder dan vijf is" in publication_note()
    caption = views._hidden(True, adds_up=True)
    assert "minder dan vijf ervan gebruikten de pas, of juist minder dan vijf niet" in caption
    assert "ook een tweede groep verborgen" in caption
    assert views._hidden(False, adds_up=True) == ""
