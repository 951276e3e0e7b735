"""Importing children and loading the scheme through the page: the command's rules, audited."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from pasdienst.wallet.models import Child, Scheme
from tests.access.helpers import OTHER_MUNICIPALITY, login_as, make_municipality
from tests.redeem.conftest import SCHEME

from .conftest import audit_count, form_token, last_event

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
    assert "is not a real date" in page and "income_pct" in page
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
    assert lines[0] == "child_ref;first_name;birth_date;income_pct;bsn;reason"
    assert len(lines) == 4 and "111222333" not in text
    assert "'=HYPERLINK" in text and ';=HYPERLINK' not in text  # a formula comes back neutralised


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
    page = client.get("/admin/regeling").get_data(as_text=True)
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
