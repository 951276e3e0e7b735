"""Brieven from the web: the letters PDF as a job (all passes, or only those new or reissued since the last run), and the mail-merge CSV."""
from __future__ import annotations

import csv
import io
import re

import pytest
from pypdf import PdfReader
from reportlab.lib.units import mm
from sqlalchemy import select

from pasdienst.access.models import AuditEvent
from pasdienst.jobs.models import DONE, QUEUED, Job
from pasdienst.jobs.queue import JobQueue
from pasdienst.jobs.services import run_job
from pasdienst.municipalities.models import Contact
from pasdienst.municipalities.services import set_contact
from pasdienst.wallet import letters, qr
from pasdienst.wallet.services import block_pass, export_rows, import_children, reissue_pass
from tests.factories import api_headers, login_as, make_merchant
from tests.admin.conftest import flashes, post

from .conftest import TODAY, prepare
from tests.text import spaced

pytestmark = pytest.mark.money

A4 = (595.28, 841.89)
#: Words a letter must never carry: it looks like any gift card's.
STIGMA = ("armoede", "minima", "inkomen", "bijstand", "schuld", "uitkering", "regeling", "sociaal", "arm ")


def _run_queued(db, settings) -> list[str | None]:
    queue = JobQueue(settings)
    with db.read() as s:
        ids = list(s.scalars(select(Job.id).where(Job.state == QUEUED).order_by(Job.id)))
    return [run_job(db, settings, queue, job_id, today=TODAY) for job_id in ids]


def _issue(db, settings, client, children: int) -> None:
    prepare(db, settings, children=children)
    post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    assert _run_queued(db, settings) == [DONE]


def _make_letters(db, settings, client, which: str = "alle") -> tuple[str, PdfReader]:
    response = post(client, "/admin/brieven", {"year": "2027", "welke": which}, token_from="/admin/brieven")
    assert response.status_code == 302 and re.fullmatch(r"/admin/taken/\d+", response.headers["Location"])
    assert _run_queued(db, settings) == [DONE]
    job_url = response.headers["Location"]
    download = client.get(f"{job_url}/bestand")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF-")
    return job_url, PdfReader(io.BytesIO(download.data))


def _rows(db, settings) -> dict[str, str]:
    """Pass number → typed code of every current pass."""
    with db.read() as s:
        return {r.pass_id: r.code for r in export_rows(s, "testdorp", settings=settings, today=TODAY)}


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_letters_pdf_has_one_a4_page_per_pass_with_its_number_code_and_qr(db, job_settings, client, admin):
    _issue(db, job_settings, client, children=3)
    with db.transaction() as s:
        set_contact(s, "testdorp", phone="14 0513", email="kinderpas@testdorp.example", website="www.testdorp.example/kinderpas",
                    desk="Dorpsstraat 1, Testdorp", hours=None)
    page = _text(client.get("/admin/brieven"))
    assert 'id="letters-all">3<' in page and "nog niet" in page and "Alle 3 brieven maken" in page
    assert "Alleen de" not in page  # nothing printed yet, so nothing is "new since"

    job_url, pdf = _make_letters(db, job_settings, client)
    codes = _rows(db, job_settings)
    assert len(pdf.pages) == 3
    for pdf_page, (number, code) in zip(pdf.pages, sorted(codes.items()), strict=True):
        assert (float(pdf_page.mediabox.width), float(pdf_page.mediabox.height)) == pytest.approx(A4, abs=0.5)
        text = spaced(pdf_page.extract_text())
        assert number in text and code in text
        assert "Gemeente Testdorp" in text and "€ 150,00" in text and "10 strippen" in text
        assert "15 maart 2027" in text and "Beste ouder of verzorger," in text and "Eén strip is € 4,50 waard" in text
        flat = re.sub(r"\s+", "", text)  # a label and its value: one line, however the reader spaces them
        assert "Telefoon140513" in flat and "E-mailkinderpas@testdorp.example" in flat
        assert "Websitewww.testdorp.example/kinderpas" in flat and "BalieDorpsstraat1,Testdorp" in flat
        assert not any(word in text.lower() for word in STIGMA)
    done = _text(client.get(job_url))
    assert 'id="job-letters">3<' in done and "brieven-testdorp-2027.pdf downloaden" in done
    with db.read() as s:
        job = s.scalars(select(Job).where(Job.kind == "letters")).one()
        assert job.summary == {"year": 2027, "letters": 3, "only_new": False, "through_pass_id": 3}
        started = s.scalars(select(AuditEvent).where(AuditEvent.action == "job.start", AuditEvent.entity_id == str(job.id))).one()
        assert started.after == {"kind": "letters", "year": 2027, "after_pass_id": None}
        assert started.actor_email == admin.email
    page = _text(client.get("/admin/brieven"))
    assert 'id="letters-new">0<' in page and "3 brieven</a>" in page and "Alleen de" not in page


def test_the_pdf_says_where_each_voucher_goes_by_the_tills_rule_as_the_pass_page_does(db, job_settings, client, admin):
    from pasdienst.municipalities.services import get_municipality
    from pasdienst.merchants.bindings import bind_voucher_code
    from pasdienst.merchants.records import set_listing
    _issue(db, job_settings, client, children=1)
    pool = make_merchant(db, "testdorp", name="Zwembad De Golf", categories=("sport_culture",))
    make_merchant(db, "testdorp", name="Dansschool Swing", categories=("sport_culture",), status="pending")
    with db.transaction() as s:
        set_listing(s, pool, place="Beetsterzwaag", offer=None, website=None)
        bind_voucher_code(s, pool, "zwemmen")
    with db.read() as s:
        (letter,) = letters.letters_for(s, get_municipality(s, "testdorp"), 2027, settings=job_settings, today=TODAY)
    assert {v.title: v.where for v in letter.vouchers} == {
        "Tegoed sport en cultuur": "bij Zwembad De Golf (Beetsterzwaag)",
        "Tegoed school": "schoolspullen, schoolreisjes en de ouderbijdrage van school",  # nobody yet: the kind of place
        "Strippenkaart zwemmen": "alleen bij Zwembad De Golf (Beetsterzwaag)",  # the pool's card: not every sports club
        "Fashioncheque": "kleding- en schoenenwinkels",
    }
    _, pdf = _make_letters(db, job_settings, client)
    text = " ".join(pdf.pages[0].extract_text().split())
    assert "alleen bij Zwembad De Golf" in text and "Dansschool" not in text


def test_the_qr_code_is_the_pass_payload_drawn_as_vectors_at_least_3_cm_wide(db, job_settings, client, admin):
    _issue(db, job_settings, client, children=1)
    _, pdf = _make_letters(db, job_settings, client)
    with db.read() as s:
        (row,) = export_rows(s, "testdorp", settings=job_settings, today=TODAY)
    modules = qr.matrix(row.url)
    content = pdf.pages[0].get_contents().get_data().decode("latin-1")
    scale = re.search(r"([\d.]+) 0 0 -([\d.]+) [\d.]+ [\d.]+ cm", content)
    assert scale is not None and scale.group(1) == scale.group(2)
    assert float(scale.group(1)) * len(modules) >= 30 * mm
    drawn = [tuple(map(int, m)) for m in re.findall(r"(?<![\d.])(\d+) (\d+) (\d+) 1 re", content)]
    assert drawn == qr.runs(modules)  # exactly the pass's code, module for module, no raster image
    assert "/XObject" not in pdf.pages[0]["/Resources"]


def test_only_new_prints_the_passes_issued_or_reissued_since_the_last_run(db, job_settings, client, admin):
    _issue(db, job_settings, client, children=3)
    _make_letters(db, job_settings, client)
    before = _rows(db, job_settings)
    with db.transaction() as s:
        successor = reissue_pass(s, "KP-2027-000002", settings=job_settings, today=TODAY).pass_number
    assert 'id="letters-new">1<' in _text(client.get("/admin/brieven"))

    job_url, pdf = _make_letters(db, job_settings, client, "nieuw")
    assert len(pdf.pages) == 1  # exactly the successor (its QR image rendered by the job)
    text = pdf.pages[0].extract_text()
    assert successor in text and _rows(db, job_settings)[successor] in text
    assert not any(number in text for number in before)
    assert "alleen nieuwe en vervangen passen" in _text(client.get(job_url))

    # Children imported later: their passes are the next "new" ones.
    _issue(db, job_settings, client, children=5)
    assert 'id="letters-new">2<' in _text(client.get("/admin/brieven"))
    _, pdf = _make_letters(db, job_settings, client, "nieuw")
    printed = [[n for n in _rows(db, job_settings) if n in p.extract_text()] for p in pdf.pages]
    assert printed == [["KP-2027-000005"], ["KP-2027-000006"]]
    # Nothing new since: no button, and a post is refused without a job.
    assert "Alleen de" not in _text(client.get("/admin/brieven"))
    response = post(client, "/admin/brieven", {"year": "2027", "welke": "nieuw"}, token_from="/admin/brieven")
    assert response.status_code == 302 and "/admin/brieven" in response.headers["Location"]
    assert flashes(client) == ["Er zijn sinds de vorige afdruk geen nieuwe of vervangen passen voor 2027."]


def test_blocked_and_replaced_passes_get_no_letter(db, job_settings, client, admin):
    _issue(db, job_settings, client, children=3)
    with db.transaction() as s:
        block_pass(s, "KP-2027-000001", reason="kwijt")
        successor = reissue_pass(s, "KP-2027-000002", settings=job_settings, today=TODAY).pass_number
    _, pdf = _make_letters(db, job_settings, client)
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert len(pdf.pages) == 2
    assert "KP-2027-000003" in text and successor in text
    assert "KP-2027-000001" not in text and "KP-2027-000002" not in text


def test_a_year_without_passes_or_a_previous_run_starts_no_job(db, job_settings, client, admin):
    prepare(db, job_settings, children=2)
    page = _text(client.get("/admin/brieven"))
    assert 'id="letters-none"' in page and "brieven maken</button>" not in page
    for which, said in (("alle", "Er zijn voor 2027 geen actieve passen. Geef eerst passen uit."),
                        ("nieuw", "Er zijn voor 2027 nog geen brieven gemaakt; maak eerst alle brieven."),
                        ("beide", "Kies welke brieven u wilt maken.")):
        response = post(client, "/admin/brieven", {"year": "2027", "welke": which}, token_from="/admin/brieven")
        assert response.status_code == 302
        assert flashes(client) == [said]
    post(client, "/admin/brieven", {"year": "2031", "welke": "alle"}, token_from="/admin/brieven")
    assert flashes(client) == ["Er is geen regeling voor 2031 geladen."]
    with db.read() as s:
        assert s.scalars(select(Job)).all() == []


def test_the_mail_merge_csv_is_the_cli_export_audited_and_formula_escaped(db, job_settings, client, admin, cli, tmp_path):
    prepare(db, job_settings, children=2)
    with db.transaction() as s:
        import_children(s, "testdorp", b"child_ref;first_name;birth_date;income_pct\n=1+2;@SUM(A1);2015-05-05;100\n",
                        settings=job_settings, today=TODAY)
    post(client, "/admin/passen-uitgeven", {"year": "2027"}, token_from="/admin/passen-uitgeven")
    assert _run_queued(db, job_settings) == [DONE]

    response = client.get("/admin/brieven/adressen.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'filename="brieven-testdorp.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["child_ref", "first_name", "pass_id", "url", "code", "valid_until"]
    assert len(rows) == 4
    assert ["'=1+2", "'@SUM(A1)"] in [row[:2] for row in rows]

    # The same file as the command line's (same service, same cells).
    target = tmp_path / "brieven.csv"
    cli("passes", "export", "testdorp", "--csv", str(target), env={"PASDIENST_TODAY": TODAY.isoformat()})
    assert target.read_bytes() == response.data

    with db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "passes.export").order_by(AuditEvent.id)).all()
        assert [(e.actor_email, e.entity_type, e.after) for e in events] == [
            (admin.email, "municipality", {"passes": 3}), ("cli", "municipality", {"passes": 3}),
        ]


@pytest.mark.parametrize("role", ["caseworker", "finance"])
def test_only_admins_make_letters_or_download_the_csv(db, job_settings, client, role):
    prepare(db, job_settings, children=1)
    login_as(client, role, municipality="testdorp")
    assert client.get("/admin/brieven").status_code == 403
    assert client.get("/admin/brieven/adressen.csv").status_code == 403
    assert client.post("/admin/brieven", data={"year": "2027", "welke": "alle"}, headers=api_headers(client)).status_code == 403
    with db.read() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action.in_(("passes.export", "job.start")))).all() == []


# -- drawing, without a database --------------------------------------------------------------

#: Every detail a municipality can give, each as long as its check allows (what the letter must keep room for).
FULL_CONTACT = Contact(
    phone="+31 (0)513 - 12 - 34 - 5", email="k" * 40 + "@gemeente-testdorp.example",
    website="https://www.gemeente-testdorp.example/" + "kinderpas/" * 25, desk="Gemeentehuis, " + "Dorpsstraat 1, " * 12,
    hours="maandag t/m vrijdag 9.00-12.30 uur, " * 5,
)


def _letter(**changes) -> letters.Letter:
    url = "https://pas.example.nl/p/ABCDEFGHIJKLM.abcdefghijk"
    modules = qr.matrix(url)
    voucher = letters.LetterVoucher("Tegoed sport en cultuur", "€ 150,00", "sportclubs, zwembaden en muziek-, dans- en theaterlessen")
    values = dict(
        pass_id=7, pass_number="KP-2027-000007", child_ref="J-7", first_name="Nora", municipality_name="Gemeente Testdorp",
        code="ABCD-EFGH-JK01", url=url, valid_from="1 januari 2027", valid_until="31 december 2027",
        vouchers=(voucher,), qr_size=len(modules), qr_runs=tuple(qr.runs(modules)), date="15 maart 2027", contact=Contact(),
    )
    return letters.Letter(**{**values, **changes})


def test_without_contact_details_the_letter_says_to_call_the_municipality_as_one_would_anyway():
    buffer = io.BytesIO()
    letters.write_pdf([_letter()], buffer)
    text = " ".join(PdfReader(io.BytesIO(buffer.getvalue())).pages[0].extract_text().split())
    assert "Bel het algemene telefoonnummer van Gemeente Testdorp, of kijk op de website van de gemeente." in text
    assert "Telefoon" not in text


def test_a_letter_stays_on_one_page_with_many_vouchers_a_long_name_and_letters_outside_the_font():
    many = tuple(letters.LetterVoucher(f"Strippenkaart nummer {n}", f"{n} strippen", "winkels en organisaties die meedoen")
                 for n in range(30))
    buffer = io.BytesIO()
    pages = letters.write_pdf([_letter(first_name="Ondřej-" + "x" * 90, vouchers=many), _letter(vouchers=())], buffer)
    pdf = PdfReader(io.BytesIO(buffer.getvalue()))
    assert pages == len(pdf.pages) == 2
    first = pdf.pages[0].extract_text()
    assert "Ondrej-" in first  # ř is not in the font: its plain letter, never a blank box
    assert "En nog" in first and "u ziet ze op de pagina van de pas" in first
    assert "Vragen of pas kwijt?" in first and "Neem contact op met Gemeente Testdorp" in first  # keeps its room
    assert "Er staat geen tegoed op deze pas." in pdf.pages[1].extract_text()


def test_a_letter_with_many_vouchers_keeps_room_for_every_contact_detail_at_its_longest():
    many = tuple(letters.LetterVoucher(f"Strippenkaart nummer {n}", f"{n} strippen", "winkels en organisaties die meedoen",
                                       strip_value="€\xa04,50") for n in range(30))
    buffer = io.BytesIO()
    assert letters.write_pdf([_letter(vouchers=many, contact=FULL_CONTACT)], buffer) == 1
    page = PdfReader(io.BytesIO(buffer.getvalue())).pages[0]
    text = spaced(page.extract_text())
    assert "En nog" in text and "Eén strip is € 4,50 waard" in text
    flat = re.sub(r"\s+", "", text)
    c = FULL_CONTACT
    for detail in (c.phone, c.email, c.website_text, c.desk, c.hours):  # the web address as people type it
        assert re.sub(r"\s+", "", detail) in flat, detail
    assert "Met vriendelijke groet," in text
    # Nothing is drawn below the bottom margin (the sign-off included).
    lowest = min(float(y) for y in re.findall(r"1 0 0 1 [\d.]+ ([\d.]+) Tm", page.get_contents().get_data().decode("latin-1")))
    assert lowest >= letters.BOTTOM - 1

