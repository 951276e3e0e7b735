"""/admin/kinderen as a list: pages, sort, filters (pass, age, award basis, import file) and search together."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from pasdienst.municipalities.services import topup_budget
from pasdienst.wallet.models import Child, ChildImport, ChildPass
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import block_pass, import_children, issue_passes, load_scheme, reissue_pass
from tests.factories import OTHER_MUNICIPALITY, login_as, make_municipality

from .conftest import TODAY, post

HEADER = "child_ref;first_name;birth_date;income_pct;override_reason\n"
#: Ages on TODAY (15 March 2027): Anna 11, Bram 14 (15 tomorrow), Cas 7, Dewi 17, Eva 11 (born 29 February), Finn 12.
JANUARY = (
    "A-1;Anna;2015-05-01;100;\n"
    "A-2;Bram;2012-03-16;125;\n"  # sliding scale
    "A-3;Cas;2019-07-07;160;keukentafelgesprek\n"  # a case worker's decision
    "A-4;Dewi;2010-01-01;100;\n"
    "A-5;Eva;2016-02-29;140;\n"  # earns too much: no pass
    "A-6;Finn;2014-11-11;100;\n"
)
#: A later file: one new child (Gijs, 9, no pass yet) and Anna's name changed.
MARCH = "A-1;Anna Maria;2015-05-01;100;\nB-1;Gijs;2018-01-01;100;\n"


@dataclass
class Kids:
    ids: dict[str, int]  # child_ref -> child id
    january: int
    march: int


@pytest.fixture
def kids(db, admin_settings) -> Kids:
    make_municipality(db, "testdorp")
    with db.transaction() as s:
        topup_budget(s, "testdorp", "10000.00", reference="test")
        load_scheme(s, sample_scheme("testdorp", 2027))
        import_children(s, "testdorp", (HEADER + JANUARY).encode(), settings=admin_settings, today=TODAY,
                        file_name="januari.csv")
        issue_passes(s, "testdorp", 2027, settings=admin_settings, today=TODAY)
    with db.transaction() as s:
        number = {c.child_ref: p.pass_number for p, c in s.execute(select(ChildPass, Child).join(Child))}
        block_pass(s, number["A-4"], reason="kwijt")
        reissue_pass(s, number["A-6"], settings=admin_settings, today=TODAY)
    with db.transaction() as s:
        import_children(s, "testdorp", (HEADER + MARCH).encode(), settings=admin_settings, today=TODAY,
                        file_name="C:\\Users\\beheer\\maart.csv")
    with db.read() as s:
        ids = dict(s.execute(select(Child.child_ref, Child.id)).all())
        imports = dict(s.execute(select(ChildImport.file_name, ChildImport.id)).all())
    return Kids(ids, imports["januari.csv"], imports["maart.csv"])


def _refs(client, **query) -> list[str]:
    """The references in the list's rows, in order."""
    response = client.get("/admin/kinderen", query_string=query)
    assert response.status_code == 200, (query, response.status_code)
    table = response.get_data(as_text=True).split('<table id="children">', 1)
    return re.findall(r'<a href="/admin/kinderen/\d+">([^<]+)</a>', table[1]) if len(table) == 2 else []


def _text(client, status: int = 200, **query) -> str:
    response = client.get("/admin/kinderen", query_string=query)
    assert response.status_code == status, (query, response.status_code)
    # A CSRF token is random text that may contain any short figure a test looks for.
    page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', response.get_data(as_text=True))
    return re.sub(r"\s+", " ", page)


@pytest.fixture
def staff(client, kids):
    return login_as(client, "admin", municipality="testdorp")


def test_without_a_search_every_child_is_listed_by_first_name(client, kids, staff):
    assert _refs(client) == ["A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "B-1"]
    page = _text(client)
    assert "7 kinderen" in page and "gevonden" not in page.split("<caption>", 1)[1].split("</caption>")[0]
    assert 'aria-sort="ascending"' in page  # the sorted column says so


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("zonder", ["A-5", "B-1"]),
        ("actief", ["A-1", "A-2", "A-3", "A-6"]),  # Finn's replacement pass is active
        ("geblokkeerd", ["A-4"]),
        ("vervangen", ["A-6"]),
        ("verlopen", []),
    ],
)
def test_the_pass_filter(client, kids, staff, status, expected):
    assert _refs(client, pas=status) == expected


def test_the_pass_filter_in_a_year_without_passes_finds_everyone_without_one(client, kids, staff):
    assert _refs(client, pas="zonder", jaar="2028") == ["A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "B-1"]
    assert _refs(client, pas="actief", jaar="2027") == ["A-1", "A-2", "A-3", "A-6"]


def test_the_age_filter_counts_age_on_today_or_a_reference_date(client, kids, staff):
    assert _refs(client, leeftijd_van="11", leeftijd_tot="12") == ["A-1", "A-5", "A-6"]
    assert _refs(client, leeftijd_van="15") == ["A-4"]
    assert _refs(client, leeftijd_van="15", peildatum="2027-03-16") == ["A-2", "A-4"]  # Bram's birthday
    # Born on 29 February: 10 until 1 March in a year without one.
    assert "A-5" in _refs(client, leeftijd_tot="10", peildatum="2027-02-28")
    assert "A-5" not in _refs(client, leeftijd_tot="10", peildatum="2027-03-01")
    assert "Leeftijd op 16-03-2027" in _text(client, leeftijd_van="15", peildatum="2027-03-16")


@pytest.mark.parametrize(
    ("basis", "expected"),
    [("volledig", ["A-1", "A-4", "A-6"]), ("glijdend", ["A-2"]), ("consulent", ["A-3"])],
)
def test_the_award_basis_filter_uses_the_stored_band_never_the_income(client, kids, staff, basis, expected):
    assert _refs(client, inkomen=basis) == expected
    page = _text(client, inkomen=basis)
    assert "125" not in page and "160" not in page and "140" not in page  # no income percentage on the page


def test_the_import_filter_lists_the_files_and_finds_the_children_each_added_or_changed(client, kids, staff):
    page = _text(client)
    assert "maart.csv (1 nieuw, 1 gewijzigd)" in page and "januari.csv (6 nieuw, 0 gewijzigd)" in page
    assert "Users" not in page  # the browser's folder is not kept
    assert page.index("maart.csv") < page.index("januari.csv")  # newest first
    assert _refs(client, **{"import": str(kids.march)}) == ["A-1", "B-1"]
    assert _refs(client, **{"import": str(kids.january)}) == ["A-2", "A-3", "A-4", "A-5", "A-6"]


def test_the_command_line_records_its_file_and_a_case_worker_registration_none(db, cli, tmp_path, kids):
    path = tmp_path / "april.csv"
    path.write_text(HEADER + "C-1;Ilse;2017-04-04;100;\n")
    cli("children", "import", "testdorp", str(path), env={"PASDIENST_TODAY": TODAY.isoformat()})
    with db.read() as s:
        child = s.scalars(select(Child).where(Child.child_ref == "C-1")).one()
        assert s.get(ChildImport, child.import_id).file_name == "april.csv"
    cli("children", "import", "testdorp", str(path), "--dry-run", env={"PASDIENST_TODAY": TODAY.isoformat()})
    with db.read() as s:
        assert len(s.scalars(select(ChildImport)).all()) == 3  # a dry run and an unchanged file record nothing


@pytest.mark.parametrize(
    ("sort", "order", "expected"),
    [
        ("leeftijd", "op", ["A-3", "B-1", "A-5", "A-1", "A-6", "A-2", "A-4"]),  # youngest first
        ("leeftijd", "af", ["A-4", "A-2", "A-6", "A-1", "A-5", "B-1", "A-3"]),
        ("klantnummer", "af", ["B-1", "A-6", "A-5", "A-4", "A-3", "A-2", "A-1"]),
        ("naam", "af", ["B-1", "A-6", "A-5", "A-4", "A-3", "A-2", "A-1"]),
        ("aangemeld", "af", ["B-1", "A-6", "A-5", "A-4", "A-3", "A-2", "A-1"]),
        ("aangemeld", "op", ["A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "B-1"]),
    ],
)
def test_the_sort(client, kids, staff, sort, order, expected):
    assert _refs(client, sorteer=sort, volgorde=order) == expected


def test_search_combines_with_the_filters(client, kids, staff):
    assert _refs(client, q="b") == ["A-2", "B-1"]  # Bram by name, B-1 by reference
    assert _refs(client, q="b", pas="zonder") == ["B-1"]
    assert _refs(client, q="b", pas="actief", leeftijd_van="14") == ["A-2"]
    page = _text(client, q="b", pas="verlopen")
    assert "Geen kind gevonden voor ‘b’ met deze filters." in page
    # A link keeps the search and the filters.
    page = client.get("/admin/kinderen", query_string={"q": "b", "pas": "zonder"}).get_data(as_text=True)
    assert "q=b&amp;pas=zonder&amp;sorteer=leeftijd" in page


def test_pages_of_fifty_with_links_and_the_total(client, db, admin_settings, kids, staff):
    rows = "".join(f"P-{n:03d};Kind{n:03d};2016-01-01;100;\n" for n in range(1, 121))
    with db.transaction() as s:
        import_children(s, "testdorp", (HEADER + rows).encode(), settings=admin_settings, today=TODAY, file_name="groot.csv")
    first = _text(client, sorteer="klantnummer")
    assert "127 kinderen, pagina 1 van 3" in first
    assert 'href="/admin/kinderen?sorteer=klantnummer&amp;pagina=2" rel="next">Volgende' in first
    assert 'aria-current="page">1<' in first
    assert len(_refs(client, sorteer="klantnummer")) == 50
    last = _refs(client, sorteer="klantnummer", pagina="3")
    assert len(last) == 27 and last[-1] == "P-120"
    assert _refs(client, sorteer="klantnummer", pagina="2")[0] == "P-044"  # A-1…A-6, B-1, then P-001…P-043 on page 1
    # Past the end: the last page; nonsense: the first.
    assert _refs(client, sorteer="klantnummer", pagina="99") == last
    for bad in ("0", "-1", "abc", "２", "9" * 40):
        assert _refs(client, sorteer="klantnummer", pagina=bad)[0] == "A-1", bad


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"leeftijd_van": "-1"}, "Vul een leeftijd in van 0 tot en met 99 jaar, in cijfers."),
        ({"leeftijd_tot": "١٢"}, "Vul een leeftijd in van 0 tot en met 99 jaar, in cijfers."),
        ({"leeftijd_van": "12", "leeftijd_tot": "5"}, "De leeftijd ‘tot en met’ is lager dan ‘van’."),
        ({"peildatum": "9999-12-31"}, "Vul de peildatum in als JJJJ-MM-DD, tussen 2000 en 2100."),
        ({"peildatum": "2027-02-30"}, "Vul de peildatum in als JJJJ-MM-DD, tussen 2000 en 2100."),
        ({"q": "x" * 101}, "Zoek op hoogstens 100 tekens."),
    ],
)
def test_a_typed_filter_that_cannot_be_read_is_named_in_dutch(client, kids, staff, query, message):
    page = _text(client, 422, **query)
    assert message in page and 'aria-invalid="true"' in page
    assert '<table id="children">' not in page  # never a list that looks filtered but is not


@pytest.mark.parametrize(
    "query",
    [
        {"pas": "kwijt"}, {"inkomen": "hoog"}, {"sorteer": "bsn"}, {"volgorde": "zijwaarts"},
        {"import": "99999999999999999999999"}, {"import": "-3"}, {"jaar": "0001"}, {"jaar": "abc"},
    ],
)
def test_a_choice_that_is_not_offered_is_ignored(client, kids, staff, query):
    assert _refs(client, **query) == ["A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "B-1"]


def test_case_workers_browse_too_and_another_municipality_sees_none_of_it(client, kids):
    login_as(client, "caseworker", municipality="testdorp")
    assert _refs(client, pas="zonder") == ["A-5", "B-1"]
    login_as(client, "admin", municipality=OTHER_MUNICIPALITY)
    assert _refs(client) == []
    assert _refs(client, **{"import": str(kids.march)}) == []
    assert "maart.csv" not in _text(client)


def test_an_import_on_the_page_links_to_its_children(client, db, kids, staff):
    response = post(
        client, "/admin/import", {"file": (io.BytesIO((HEADER + "D-1;Jip;2017-02-02;100;\n").encode()), "mei.csv")},
        token_from="/admin/import", content_type="multipart/form-data",
    )
    assert response.status_code == 200
    with db.read() as s:
        made = s.scalars(select(ChildImport).where(ChildImport.file_name == "mei.csv")).one()
    assert f'href="/admin/kinderen?import={made.id}"' in response.get_data(as_text=True)
    assert _refs(client, **{"import": str(made.id)}) == ["D-1"]
