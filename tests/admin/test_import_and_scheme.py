"""Importing children and loading the scheme through the page: the command's rules, audited."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from pasdienst.wallet.models import Child, Scheme
from tests.factories import OTHER_MUNICIPALITY, SCHEME, login_as, make_municipality

from .conftest import audit_count, form_token, last_event
from tests.text import spaced

GOOD_AND_BAD = (
    "child_ref;first_name;birth_date;income_pct;bsn\n"
    "A-1;Noor;2016-04-01;110;\n"
    "A-2;Sem;31-02-2015;100;\n"
    "A-3;=HYPERLINK(\"x\");2014-13-01;100;111222333\n"
    "A-4;Lot;2013-09-09;abc;\n"
).encode()


def _children(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(Child)).scalar_one()


def _upload(client, data: bytes, *, dry_run: bool = False, name: str = "kinderen.csv"):
    body = {"csrf_token": form_token(client, "/admin/import"), "file": (io.BytesIO(data), name)}
    if dry_run:
        body["dry_run"] = "1"
    return client.post("/admin/import", data=body, content_type="multipart/form-data")


def test_an_import_takes_the_good_rows_and_reports_the_rest(client, db):
    login_as(client, "admin")
    response = _upload(client, GOOD_AND_BAD)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "imported 1, updated 0, rejected 3" in page
    assert "geboortedatum (birth_date) &#39;31-02-2015&#39; bestaat niet" in page
    assert "inkomen (income_pct) &#39;abc&#39; is geen percentage zoals 115 of 115%" in page
    assert "is not a real date" not in page and "is not a percentage" not in page
    assert "111222333" not in page  # the rejected-rows table never shows a BSN
    assert _children(db) == 1
    event = last_event(db, "children.import")
    assert event.after == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": 3}
    assert "111222333" not in str(event.after)


def test_a_dry_run_reports_and_writes_nothing(client, db):
    login_as(client, "admin")
    page = _upload(client, GOOD_AND_BAD, dry_run=True).get_data(as_text=True)
    assert "Proef: er is niets opgeslagen" in page and "imported 1, updated 0, rejected 3" in page
    assert _children(db) == 0 and audit_count(db, "children.import") == 0


def test_the_rejected_rows_download_as_a_safe_csv_without_bsn(client, db):
    login_as(client, "admin")
    page = _upload(client, GOOD_AND_BAD).get_data(as_text=True)
    packed = page.split('name="rows" value="', 1)[1].split('"', 1)[0]
    csv = client.post(
        "/admin/import/afgewezen.csv", data={"csrf_token": form_token(client, "/admin/import"), "rows": packed}
    )
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    text = csv.get_data().decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "child_ref;first_name;birth_date;income_pct;bsn;reden"
    assert len(lines) == 4 and "111222333" not in text
    assert lines[1].endswith(";geboortedatum (birth_date) '31-02-2015' bestaat niet")
    assert lines[3].endswith(";inkomen (income_pct) 'abc' is geen percentage zoals 115 of 115%")
    assert "'=HYPERLINK" in text and ';=HYPERLINK' not in text  # a formula comes back neutralised


def test_every_rejection_reason_is_shown_in_dutch_on_the_page(client, db):
    login_as(client, "admin")
    make_municipality(db)
    header = "child_ref;first_name;birth_date;income_pct;bsn;email;postcode\n"
    rows = (
        ("B-1;;2016-01-01;;;;", "voornaam (first_name) ontbreekt"),
        ("B-2;Noor;2016/1;;;;", "geboortedatum (birth_date) &#39;2016/1&#39; is geen datum als JJJJ-MM-DD of DD-MM-JJJJ"),
        ("B-3;Noor;2099-01-01;;;;", "geboortedatum (birth_date) 2099-01-01 ligt in de toekomst"),
        ("B-4;Noor;1850-01-01;;;;", "geboortedatum (birth_date) 1850-01-01 ligt te ver terug"),
        ("B-5;Noor;2016-01-01;2000;;;", "inkomen (income_pct) is hoger dan 1000%"),
        ("B-6;Noor;2016-01-01;;123456789;;", "het BSN is niet geldig (het voldoet niet aan de elfproef)"),
        ("B-7;Noor;2016-01-01;;;geen-mail;", "e-mailadres (email) is geen e-mailadres"),
        ("B-8;Noor;2016-01-01;;;;ABCD 12", "postcode is geen Nederlandse postcode zoals 9251 AA"),
        ("B-9;Noor;2016-01-01", "de rij heeft 3 velden, de kopregel 7"),
        ("B-10;Noor;2016-01-01;;111222333;;", None),
        ("B-10;Sem;2015-01-01;;;;", "kindnummer (child_ref) B-10 staat al op regel 11"),
        ("B-11;Sem;2015-01-01;;111222333;;", "hetzelfde BSN staat al op regel 11"),
        ("B-12;" + "x" * 101 + ";2015-01-01;;;;", "voornaam (first_name) is langer dan 100 tekens"),
    )
    page = _upload(client, (header + "\n".join(row for row, _ in rows) + "\n").encode()).get_data(as_text=True)
    table = page.split("<caption>Afgewezen rijen", 1)[1]
    for _row, reason in rows:
        if reason:
            assert reason in table
    assert table.count("<tr>") == 1 + 12  # the header and every rejected row
    for english in ("is missing", "is not", "lies in the future", "too long ago", "above 1000%", "fails the elfproef",
                    "fields where the header", "is already on line", "longer than"):
        assert english not in table, english


def test_a_bsn_that_belongs_to_another_child_is_refused_in_dutch(client, db):
    login_as(client, "admin")
    _upload(client, b"child_ref;first_name;birth_date;bsn\nC-1;Noor;2016-01-01;111222333\nC-2;Sem;2015-01-01;\n")
    page = _upload(client, b"child_ref;first_name;birth_date;bsn\nC-2;Sem;2015-01-01;111222333\n").get_data(as_text=True)
    assert "het BSN hoort bij een ander kind (C-1)" in page and "111222333" not in page
    page = _upload(
        client, b"child_ref;first_name;birth_date;bsn\nC-1;Noor;2016-01-01;\nC-3;Sem;2015-01-01;111222333\n"
    ).get_data(as_text=True)
    assert "het BSN hoort bij kind C-1, dat ook in dit bestand staat" in page and "111222333" not in page


def test_a_tampered_download_is_refused(client, db):
    login_as(client, "admin")
    response = client.post(
        "/admin/import/afgewezen.csv", data={"csrf_token": form_token(client, "/admin/import"), "rows": "abc.def"}
    )
    assert response.status_code == 422 and "verlopen" in response.get_data(as_text=True)


def test_a_file_that_is_not_csv_is_refused_in_dutch_and_writes_nothing(client, db):
    login_as(client, "admin")
    response = _upload(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert response.status_code == 422 and "Dit is geen CSV-bestand" in response.get_data(as_text=True)
    response = _upload(client, b"naam;geboren\nNoor;2016-04-01\n")
    assert response.status_code == 422 and "De eerste regel moet de kolommen noemen" in response.get_data(as_text=True)
    assert _children(db) == 0 and audit_count(db, "children.import") == 0


def test_a_file_over_five_megabytes_is_refused_in_dutch(client, db):
    login_as(client, "admin")
    big = b"child_ref;first_name;birth_date\n" + b"X;Y;2016-01-01\n" * 400_000
    response = _upload(client, big)
    assert response.status_code == 413
    assert "groter dan 5 MB" in response.get_data(as_text=True)
    assert _children(db) == 0


def test_a_caseworker_cannot_import(client, db):
    login_as(client, "caseworker")
    assert client.get("/admin/import").status_code == 403


def test_a_scheme_is_loaded_and_shown(client, db):
    login_as(client, "admin")
    response = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": SCHEME})
    assert response.status_code == 302
    page = spaced(client.get("/admin/regeling").get_data(as_text=True))
    assert "De regeling voor 2027 is geladen." in page
    assert "zwemmen" in page and "10 × € 4,50" in page and "4 t/m 17 jaar" in page
    assert last_event(db, "scheme.create").after["year"] == 2027
    again = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": SCHEME})
    assert again.status_code == 302 and audit_count(db, "scheme.update") == 0


def test_a_scheme_with_problems_lists_them_and_stores_nothing(client, db):
    login_as(client, "admin")
    broken = SCHEME.replace('amount = "150.00"', 'amount = "150,001"')
    response = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": broken})
    assert response.status_code == 422 and "budget[1].amount" in response.get_data(as_text=True)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Scheme)).scalar_one() == 0


def test_another_municipalitys_scheme_is_refused(client, db):
    make_municipality(db, OTHER_MUNICIPALITY)
    login_as(client, "admin", municipality=OTHER_MUNICIPALITY)
    response = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": SCHEME})
    assert response.status_code == 422 and "niet voor" in response.get_data(as_text=True)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Scheme)).scalar_one() == 0


def test_a_caseworker_sees_the_scheme_but_cannot_load_one(client, db):
    login_as(client, "caseworker")
    page = client.get("/admin/regeling").get_data(as_text=True)
    assert "Regeling laden" not in page
    response = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": SCHEME})
    assert response.status_code == 403


def test_the_problems_of_a_scheme_file_are_listed_in_dutch(client, db):
    login_as(client, "admin")
    broken = SCHEME.replace('amount = "150.00"', 'amount = "150,001"').replace("income_limit_pct = 120\n", "")
    page = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": broken}
                       ).get_data(as_text=True)
    assert "De regeling is niet geladen." in page
    assert "budget[1].amount: moet een bedrag met twee decimalen zijn" in page
    assert "income_limit_pct: ontbreekt" in page
    assert "must be" not in page and "is missing" not in page


def test_a_scheme_with_dutch_amounts_loads(client, db):
    login_as(client, "admin")
    dutch = SCHEME.replace('"150.00"', '"150,00"').replace('"4.50"', '"4,50"')
    response = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": dutch})
    assert response.status_code == 302
    assert "10 × € 4,50" in spaced(client.get("/admin/regeling").get_data(as_text=True))


def test_the_loaded_scheme_downloads_as_a_file_that_loads_again_unchanged(client, db):
    login_as(client, "admin")
    client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": SCHEME})
    assert 'href="/admin/regeling/2027.toml"' in client.get("/admin/regeling").get_data(as_text=True)
    download = client.get("/admin/regeling/2027.toml")
    assert download.status_code == 200 and download.mimetype == "application/toml"
    assert "attachment" in download.headers["Content-Disposition"]
    again = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"),
                                                 "text": download.get_data(as_text=True)})
    assert again.status_code == 302 and audit_count(db, "scheme.update") == 0
    assert client.get("/admin/regeling/2031.toml").status_code == 404


def test_the_example_is_for_the_first_year_without_a_scheme_and_loads(client, db):
    login_as(client, "caseworker")
    assert client.get("/admin/regeling/voorbeeld.toml").status_code == 200  # reading is for case workers too
    login_as(client, "admin")
    client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": SCHEME})
    example = client.get("/admin/regeling/voorbeeld.toml").get_data(as_text=True)
    assert example.startswith("# Voorbeeld van een regeling")
    assert 'municipality = "testdorp"' in example and "year = 2028" in example  # 2027 has one
    loaded = client.post("/admin/regeling", data={"csrf_token": form_token(client, "/admin/regeling"), "text": example})
    assert loaded.status_code == 302
    assert last_event(db, "scheme.create").after["year"] == 2028
