"""QR images rendered once and stored; the print house's mail-merge file."""
from __future__ import annotations

import csv
import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from pasdienst.wallet import codes, qr, tokens
from pasdienst.wallet.models import PassImage
from pasdienst.wallet.services import block_pass, import_children, issue_passes

from .helpers import CODE, TODAY, YEAR, csv_of, issued, pass_of, prepared


def test_a_rendered_qr_is_a_png_and_an_svg_of_the_payload():
    png, svg = qr.render("https://pas.example.nl/p/ABCDEFGHIJKLM.abcdefghijk")
    image = Image.open(io.BytesIO(png))
    # Version 4: 33 modules and a quiet zone of 4 on each side, 10 px a module.
    assert image.format == "PNG" and image.size == (410, 410)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 41 41"') and "style=" not in svg


def test_the_svg_has_exactly_the_dark_modules_of_the_matrix():
    modules = qr.matrix("https://pas.example.nl/p/ABCDEFGHIJKLM.abcdefghijk")
    svg = qr.svg_of(modules)
    runs = [int(w) for w in re.findall(r"h(\d+)", svg)]
    assert sum(runs) == sum(sum(row) for row in modules)


def test_the_runs_of_a_stored_svg_are_read_back_exactly():
    for n in range(5):
        modules = qr.matrix(f"https://pas.example.nl/p/ABCDEFGHIJK{n:02d}.abcdefghijk")
        assert qr.runs_of(qr.svg_of(modules)) == (len(modules), qr.runs(modules))
    # An SVG of another shape is not guessed at (the letters then build the code afresh).
    assert qr.runs_of('<svg viewBox="0 0 41 41"><path d="M0 0L4 4"/></svg>') is None
    assert qr.runs_of('<svg viewBox="0 0 41 41"><path d="M0 0.5h3x"/></svg>') is None
    assert qr.runs_of("<svg/>") is None


def test_render_missing_stores_each_image_once(db, settings):
    ids = issued(db, settings)
    assert qr.render_missing(db, settings, pass_ids=ids, workers=1) == 4
    assert qr.render_missing(db, settings, pass_ids=ids, workers=1) == 0
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(PassImage)).scalar_one() == 4


def test_many_images_are_rendered_over_a_process_pool(db, settings, monkeypatch):
    ids = issued(db, settings)
    monkeypatch.setattr(qr, "POOL_THRESHOLD", 2)
    monkeypatch.setattr(qr, "_TASK", 1)
    done: list[int] = []
    assert qr.render_missing(db, settings, pass_ids=ids, workers=2, progress=lambda n, total: done.append(n)) == 4
    assert done[-1] == 4
    with db.read() as s:
        nora = pass_of(s, "K-1")
        stored = s.get(PassImage, nora.id)
    assert stored.svg == qr.render(tokens.payload_for(settings, nora.handle))[1]


def test_blocked_and_replaced_passes_get_no_new_images(db, settings):
    from pasdienst.wallet.services import reissue_pass

    issued(db, settings)
    with db.transaction() as s:
        blocked = pass_of(s, "K-1").id
        block_pass(s, pass_of(s, "K-1").pass_number, reason="lost")
        replaced = pass_of(s, "K-2").id
        renewed = reissue_pass(s, pass_of(s, "K-2").pass_number, settings=settings, today=TODAY).id
    with db.read() as s:
        missing = {pid for pid, _ in qr.missing_images(s)}
    assert blocked not in missing and replaced not in missing and renewed in missing
    assert len(missing) == 3


def read_export(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))


@pytest.mark.money
def test_the_export_lists_every_usable_pass_with_its_url_and_code(cli, db, settings, tmp_path):
    issued(db, settings)
    with db.transaction() as s:
        block_pass(s, pass_of(s, "K-2").pass_number, reason="lost")
    target = tmp_path / "brieven.csv"
    result = cli("passes", "export", CODE, "--csv", str(target), env={"PASDIENST_TODAY": "2027-01-15"})
    assert result.stdout.splitlines()[-1] == f"exported 3 passes to {target}"
    rows = read_export(target)
    assert list(rows[0]) == ["child_ref", "first_name", "pass_id", "url", "code", "valid_until"]
    assert [r["child_ref"] for r in rows] == ["K-1", "K-3", "K-4"]
    with db.read() as s:
        nora = pass_of(s, "K-1")
        assert rows[0] == {
            "child_ref": "K-1",
            "first_name": "Nora",
            "pass_id": nora.pass_number,
            "url": f"https://pas.example.nl/p/{tokens.token_for(settings, nora.handle)}",
            "code": codes.display(codes.code_of(settings, nora.handle, nora.code_hash)),
            "valid_until": "2027-12-31",
        }


@pytest.mark.money
def test_the_export_includes_passes_whose_year_has_not_started_and_skips_expired_ones(cli, db, settings, tmp_path):
    issued(db, settings)
    target = tmp_path / "out.csv"
    cli("passes", "export", CODE, "--csv", str(target), env={"PASDIENST_TODAY": "2026-12-01"})
    assert len(read_export(target)) == 4
    cli("passes", "export", CODE, "--csv", str(target), env={"PASDIENST_TODAY": "2028-01-01"})
    assert read_export(target) == []


@pytest.mark.money
def test_the_export_neutralises_spreadsheet_formulas_in_names(cli, db, settings, tmp_path):
    prepared(db, settings, children=csv_of('K-1;=HYPERLINK("http://x");2017-06-01;H1;100;;;;'))
    with db.transaction() as s:
        issue_passes(s, CODE, YEAR, settings=settings, today=TODAY)
    target = tmp_path / "out.csv"
    cli("passes", "export", CODE, "--csv", str(target), env={"PASDIENST_TODAY": "2027-01-15"})
    assert read_export(target)[0]["first_name"] == "'=HYPERLINK(\"http://x\")"


def test_passes_render_fills_in_missing_images(cli, db, settings):
    issued(db, settings)
    assert cli("passes", "render", CODE).stdout.splitlines()[-1] == "rendered 4 QR codes"
    assert cli("passes", "render", CODE).stdout.splitlines()[-1] == "rendered 0 QR codes"


def test_a_new_child_imported_later_gets_its_pass_from_the_next_run(db, settings):
    issued(db, settings)
    with db.transaction() as s:
        import_children(s, CODE, csv_of("K-8;Maud;2012-08-19;H8;100;;;;"), settings=settings, today=TODAY)
        assert issue_passes(s, CODE, YEAR, settings=settings, today=TODAY).issued == 1
