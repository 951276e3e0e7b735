"""The holders' letters as one print-ready PDF: A4, one letter per page.

Each page says what ``/p/<token>/brief`` says, the way a gift card letter
does (what the pass is for and where it can be spent, never why a child has
it): the municipality and the date, a greeting, the QR code at 45 mm (1 mm a
module for the usual version-5 code; scanners want at least 30 mm), the typed
code, the pass number, the dates, the balance per voucher in Dutch amounts
(a punch card's strips with what one strip is worth) and where it can be
spent (the merchants that take it, by the till's rule, as the pass page and
``/p/<token>/brief`` name them), and whom to call with a
question or when the pass is lost: the municipality's own contact details
(``Municipality.contact``). ``Kenmerk`` is the municipality's own reference
for the child, to match a letter with an address.

Drawn with reportlab's canvas, not its flowables: a page is a fixed layout,
and 10,000 letters must take well under a minute (``scripts/bench_letters.py``).
The QR code is the image the issuing run stored, read back from its SVG path
as runs of dark modules (``qr.runs_of``) and drawn as one PDF path of
rectangles: no raster, no second ``qrcode`` run (that costs 5 ms a pass).
Text is set in Bitstream Vera, which ships with reportlab and is embedded, so
the PDF prints the same everywhere; a letter Vera has no glyph for (ř, ő, ă)
is printed as its closest plain letter instead of a blank box.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import BinaryIO

import reportlab
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from text_unidecode import unidecode

from ..config import Settings
from ..ledger import Account
from ..municipalities.models import Contact, Municipality
from ..merchants.places import WhereToSpend
from . import codes, labels, qr, tokens, wording
from .models import ACTIVE, PUNCHCARD, Child, ChildPass, PassImage, Voucher, format_pass_number

# Compressed page streams written as binary, not ASCII85 (a fifth smaller, and faster).
rl_config.useA85 = 0

#: Passes read per query: the letters stream through, they are never all in memory.
CHUNK = 1000
#: The QR code's printed width; scanners want at least 30 mm.
QR_WIDTH = 45 * mm

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 20 * mm
RIGHT = PAGE_WIDTH - 20 * mm
TOP = PAGE_HEIGHT - 20 * mm
BOTTOM = 18 * mm
REGULAR = "PasdienstVera"
BOLD = "PasdienstVera-Bold"
GREY = 0.35


@dataclass(frozen=True)
class LetterVoucher:
    title: str
    #: ``€ 150,00`` or ``10 strippen``.
    amount: str
    where: str
    #: A punch card's ``€ 4,50`` a strip; None for other vouchers.
    strip_value: str | None = None


@dataclass(frozen=True)
class Letter:
    """What one letter prints (plain values: drawing it reads no database)."""

    pass_id: int
    pass_number: str
    child_ref: str
    first_name: str
    municipality_name: str
    #: ``ABCD-EFGH-JK01``; None when the key that made it is no longer configured.
    code: str | None
    url: str
    valid_from: str
    valid_until: str
    vouchers: tuple[LetterVoucher, ...]
    #: Modules across, quiet zone included, and the dark runs (``qr.runs``).
    qr_size: int
    qr_runs: tuple[qr.Run, ...]
    #: The day the letters were made, as a letter writes it: ``3 december 2026``.
    date: str
    #: Whom to call about the pass: the municipality's details (parts may be None).
    contact: Contact


def _letter_query(municipality_id: int, year: int, after_pass_id: int | None, through_pass_id: int | None):
    query = select(ChildPass.id).where(
        ChildPass.municipality_id == municipality_id, ChildPass.year == year, ChildPass.status == ACTIVE
    )
    if after_pass_id is not None:
        query = query.where(ChildPass.id > after_pass_id)
    if through_pass_id is not None:
        query = query.where(ChildPass.id <= through_pass_id)
    return query


def newest_pass_id(session: Session, municipality_id: int, year: int) -> int | None:
    """The highest pass id of the municipality's ``year``: what a print run
    covers, so that the next "only new" run starts after it.

    Waits first for an issuing run in progress (issuing holds the
    municipality's row until it commits; PostgreSQL only, SQLite's snapshot
    cannot see it anyway), so none of its passes has an id below the answer
    yet commits after it. Call it in a transaction of its own: it holds that
    row shared until the transaction ends.
    """
    session.execute(select(Municipality.id).where(Municipality.id == municipality_id).with_for_update(read=True))
    return session.scalar(
        select(func.max(ChildPass.id)).where(ChildPass.municipality_id == municipality_id, ChildPass.year == year)
    )


def count_letters(
    session: Session, municipality_id: int, year: int, *,
    after_pass_id: int | None = None, through_pass_id: int | None = None,
) -> int:
    """How many letters :func:`letters_for` yields with the same arguments."""
    query = _letter_query(municipality_id, year, after_pass_id, through_pass_id)
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _amount(kind: str, balance: int, strip_value: int | None) -> str:
    if kind == PUNCHCARD and strip_value:
        strips = balance // strip_value
        return f"{strips} {'strip' if strips == 1 else 'strippen'}"
    return labels.euros(balance)


def letters_for(
    session: Session, municipality: Municipality, year: int, *, settings: Settings, today: date,
    after_pass_id: int | None = None, through_pass_id: int | None = None,
) -> Iterator[Letter]:
    """The letters of the municipality's active passes of ``year``, in pass
    number order: those with an id above ``after_pass_id`` (a reissue makes
    a new pass, so "new" includes reissued) and up to ``through_pass_id``;
    each dated ``today``.

    Blocked, replaced and expired passes get none (their QR no longer
    works). Reads ``CHUNK`` passes a query inside the caller's transaction.
    """
    last = after_pass_id
    dated, contact = labels.long_date(today), municipality.contact
    # Where each kind of voucher goes, by the till's own rule, as the pass page says it: read once a run.
    merchants = WhereToSpend(session, municipality.id)
    where: dict[tuple[str, str | None], str] = {}
    while True:
        query = _letter_query(municipality.id, year, last, through_pass_id).with_only_columns(
            ChildPass.id, ChildPass.handle, ChildPass.code_hash, ChildPass.valid_from, ChildPass.valid_until,
            Child.child_ref, Child.first_name, PassImage.svg,
        )
        rows = session.execute(
            query.join(Child, Child.id == ChildPass.child_id)
            .outerjoin(PassImage, PassImage.pass_id == ChildPass.id)
            .order_by(ChildPass.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        vouchers: dict[int, list[LetterVoucher]] = {row[0]: [] for row in rows}
        for pass_id, kind, category, code, strip_value, balance in session.execute(
            select(Voucher.pass_id, Voucher.kind, Voucher.category, Voucher.code, Voucher.strip_value_cents,
                   Account.balance)
            .join(Account, Account.id == Voucher.account_id)
            .where(Voucher.pass_id.in_(list(vouchers)))
            .order_by(Voucher.id)
        ):
            if (category, code) not in where:
                places = [(place.name, place.place) for place in merchants.places(category, code)]
                where[category, code] = labels.where_text(category, merchants.bound(code), places)
            vouchers[pass_id].append(
                LetterVoucher(
                    title=labels.voucher_title(kind, category, code),
                    amount=_amount(kind, int(balance), strip_value),
                    where=where[category, code],
                    strip_value=labels.euros(strip_value) if kind == PUNCHCARD and strip_value else None,
                )
            )
        for pass_id, handle, code_hash, valid_from, valid_until, child_ref, first_name, svg in rows:
            url = tokens.payload_for(settings, handle)
            drawn = qr.runs_of(svg) if svg else None
            if drawn is None:  # not rendered yet (or stored in another shape): build it here
                modules = qr.matrix(url)
                drawn = (len(modules), qr.runs(modules))
            code = codes.code_of(settings, handle, code_hash)
            yield Letter(
                pass_id=pass_id,
                pass_number=format_pass_number(year, pass_id),
                child_ref=child_ref,
                first_name=first_name,
                municipality_name=municipality.name,
                code=codes.display(code) if code else None,
                url=url,
                valid_from=labels.long_date(valid_from),
                valid_until=labels.long_date(valid_until),
                vouchers=tuple(vouchers[pass_id]),
                qr_size=drawn[0],
                qr_runs=tuple(drawn[1]),
                date=dated,
                contact=contact,
            )
        last = rows[-1][0]


# -- drawing -------------------------------------------------------------------------

def _register_fonts() -> None:
    if REGULAR in pdfmetrics.getRegisteredFontNames():
        return
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    pdfmetrics.registerFont(TTFont(REGULAR, os.path.join(folder, "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, os.path.join(folder, "VeraBd.ttf")))


@lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    _register_fonts()
    return frozenset(pdfmetrics.getFont(REGULAR).face.charToGlyph) & frozenset(
        pdfmetrics.getFont(BOLD).face.charToGlyph
    )


@lru_cache(maxsize=4096)
def printable(text: str) -> str:
    """``text`` with each character the font cannot draw replaced by its closest plain letters (ř → r)."""
    glyphs = _glyphs()
    if all(ord(c) in glyphs for c in text):
        return text
    return "".join(c if ord(c) in glyphs else (unidecode(c) or "?") for c in text)


@lru_cache(maxsize=4096)
def _width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


@lru_cache(maxsize=4096)
def wrap(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """Lines of at most ``width`` points; a word wider than that (a long link) is broken.

    A line's width is the sum of its words' and spaces' (a TrueType string's
    width is its glyphs' widths, with no kerning): words repeat from letter to
    letter and their widths are cached, where a growing line is new text on
    every letter that names a child, a pass number or its link.
    """
    space = _width(" ", font, size)
    lines: list[str] = []
    line, line_width = "", 0.0
    for word in text.split(" "):
        word_width = _width(word, font, size)
        wanted = line_width + space + word_width if line else word_width
        if wanted <= width:
            line, line_width = (f"{line} {word}" if line else word), wanted
            continue
        if line:
            lines.append(line)
        while word_width > width:
            cut = len(word)
            while cut > 1 and _width(word[:cut], font, size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
            word_width = _width(word, font, size)
        line, line_width = word, word_width
    if line:
        lines.append(line)
    return tuple(lines)


def _fitting_size(text: str, font: str, size: float, width: float, smallest: float) -> float:
    while size > smallest and _width(text, font, size) > width:
        size -= 1
    return size


class _Page:
    """Draws one letter on the canvas, top to bottom."""

    def __init__(self, canvas: Canvas) -> None:
        self.c = canvas
        self.y = TOP

    def text(self, x: float, text: str, font: str = REGULAR, size: float = 10.5, *, grey: bool = False,
             right: bool = False) -> None:
        c = self.c
        c.setFont(font, size)
        if grey:
            c.setFillGray(GREY)
        (c.drawRightString if right else c.drawString)(x, self.y, text)
        if grey:
            c.setFillGray(0)

    def paragraph(self, text: str, *, x: float = LEFT, width: float = RIGHT - LEFT, size: float = 10.5,
                  font: str = REGULAR, leading: float = 14.5, bullet: bool = False) -> None:
        indent = 4 * mm if bullet else 0
        for n, line in enumerate(wrap(text, font, size, width - indent)):
            if bullet and n == 0:
                self.text(x, "•", font, size)
            self.text(x + indent, line, font, size)
            self.y -= leading


def _qr(canvas: Canvas, x: float, top: float, size: int, runs: Iterable[qr.Run]) -> None:
    """The code as one filled path of rectangles (one a run of dark modules),
    on a white square; coordinates in modules, from the top left."""
    module = QR_WIDTH / size
    canvas.setFillGray(1)
    canvas.rect(x, top - QR_WIDTH, QR_WIDTH, QR_WIDTH, stroke=0, fill=1)
    canvas.setFillGray(0)
    canvas.saveState()
    canvas.translate(x, top)
    canvas.scale(module, -module)
    canvas.addLiteral(" ".join(f"{rx} {ry} {length} 1 re" for rx, ry, length in runs) + " f")
    canvas.restoreState()


def draw_letter(canvas: Canvas, letter: Letter) -> None:
    """One letter on the current page (the caller ends the page)."""
    page = _Page(canvas)
    name = printable(letter.first_name)
    municipality = printable(letter.municipality_name)
    width = RIGHT - LEFT

    page.text(LEFT, municipality, BOLD, 11)
    page.text(RIGHT, f"Kenmerk {printable(letter.child_ref)}", REGULAR, 8.5, grey=True, right=True)
    page.y -= 5.5 * mm
    page.text(RIGHT, letter.date, REGULAR, 10.5, right=True)
    page.y -= 12.5 * mm
    title = f"De kinderpas van {name}"
    page.text(LEFT, title, BOLD, _fitting_size(title, BOLD, 20, width, 11))
    page.y -= 11 * mm
    page.paragraph(wording.GREETING)
    page.y -= 4
    page.paragraph(wording.introduction(name))

    # The pass: QR code on the left, code, number and dates beside it.
    page.y -= 2 * mm
    box_top, box_height = page.y, QR_WIDTH + 8 * mm
    canvas.setLineWidth(1.2)
    canvas.roundRect(LEFT, box_top - box_height, width, box_height, 4 * mm, stroke=1, fill=0)
    _qr(canvas, LEFT + 4 * mm, box_top - 4 * mm, letter.qr_size, letter.qr_runs)
    column = LEFT + QR_WIDTH + 12 * mm
    page.y = box_top - 10 * mm
    if letter.code:
        page.text(column, "Lukt scannen niet? Noem dan deze code:", REGULAR, 9, grey=True)
        page.y -= 8 * mm
        page.text(column, letter.code, BOLD, 19)
        page.y -= 10 * mm
    page.text(column, "Pasnummer", REGULAR, 9, grey=True)
    page.text(column + 30 * mm, letter.pass_number, BOLD, 11)
    page.y -= 6.5 * mm
    page.text(column, "Geldig", REGULAR, 9, grey=True)
    page.text(column + 30 * mm, f"van {letter.valid_from}", REGULAR, 10.5)
    page.y -= 5 * mm
    page.text(column + 30 * mm, f"t/m {letter.valid_until}", REGULAR, 10.5)
    page.y = box_top - box_height - 10 * mm

    # What is on the pass; what follows it (whom to call above all) always keeps its room on the page.
    closing = _closing(letter, name, municipality)
    page.text(LEFT, wording.BALANCE_HEADING, BOLD, 13)
    page.y -= 7 * mm
    _vouchers(page, letter.vouchers, bottom=BOTTOM + _height(closing))
    _draw(page, closing)


#: Where a contact detail's value starts, right of its label.
_CONTACT_VALUE = LEFT + 25 * mm
_LEADING = 14.5

@dataclass(frozen=True)
class _Block:
    """A piece of the letter's end: a ``heading``, ``bullet`` or ``paragraph`` (``text``), a ``contact``
    detail (``label`` and ``text``), or a ``gap`` of ``space`` points."""

    kind: str
    text: str = ""
    label: str = ""
    space: float = 0


def _closing(letter: Letter, name: str, municipality: str) -> list[_Block]:
    """What follows the vouchers: good to know, whom to call (the municipality's own details), the sign-off."""
    blocks = [
        _Block("gap", space=7 * mm),
        _Block("heading", wording.GOOD_TO_KNOW),
        _Block("bullet", wording.keep_private(name)),
        _Block("bullet", wording.balance_online(letter.url)),
        _Block("gap", space=3 * mm),
        _Block("heading", wording.QUESTIONS_HEADING),
        _Block("paragraph", wording.lost_pass(municipality, letter.pass_number)),
    ]
    contact = letter.contact
    if contact.given:
        details = [("Telefoon", contact.phone), ("E-mail", contact.email), ("Website", contact.website_text),
                   ("Balie", contact.desk), ("" if contact.desk else "Balie", contact.hours)]
        blocks += [_Block("contact", printable(value), label) for label, value in details if value]
    else:
        blocks.append(_Block("paragraph", wording.no_contact(municipality)))
    return [*blocks, _Block("gap", space=4 * mm), _Block("paragraph", wording.SIGN_OFF),
            _Block("paragraph", municipality)]


def _lines(block: _Block) -> tuple[str, ...]:
    if block.kind == "bullet":
        return wrap(block.text, REGULAR, 10.5, RIGHT - LEFT - 4 * mm)
    if block.kind == "paragraph":
        return wrap(block.text, REGULAR, 10.5, RIGHT - LEFT)
    if block.kind == "contact":
        return wrap(block.text, REGULAR, 10.5, RIGHT - _CONTACT_VALUE)
    return ()


def _height(blocks: list[_Block]) -> float:
    """How much of the page ``blocks`` take, as :func:`_draw` draws them."""
    return sum(block.space + (7 * mm if block.kind == "heading" else len(_lines(block)) * _LEADING) for block in blocks)


def _draw(page: _Page, blocks: list[_Block]) -> None:
    for block in blocks:
        page.y -= block.space
        if block.kind == "heading":
            page.text(LEFT, block.text, BOLD, 13)
            page.y -= 7 * mm
        elif block.kind == "contact":
            if block.label:
                page.text(LEFT, block.label, REGULAR, 9, grey=True)
            for line in _lines(block):
                page.text(_CONTACT_VALUE, line, REGULAR, 10.5)
                page.y -= _LEADING
        elif block.kind in ("bullet", "paragraph"):
            page.paragraph(block.text, bullet=block.kind == "bullet", leading=_LEADING)


#: The voucher table's columns: what, amount (right-aligned at its end), where.
_WHAT, _AMOUNT_END, _WHERE = LEFT, LEFT + 95 * mm, LEFT + 100 * mm


def _vouchers(page: _Page, vouchers: tuple[LetterVoucher, ...], *, bottom: float) -> None:
    if not vouchers:
        page.paragraph("Er staat geen tegoed op deze pas.")
        return
    what_width, where_width = 60 * mm, RIGHT - _WHERE

    def rows(size: float) -> list[tuple[tuple[str, ...], int, str, tuple[str, ...]]]:
        """Per voucher: the lines of its title, then of its strip value (how many), its amount, where."""
        laid = []
        for v in vouchers:
            strip = wrap(f"Eén strip is {v.strip_value} waard", REGULAR, size, what_width) if v.strip_value else ()
            what = wrap(printable(v.title), REGULAR, size, what_width) + strip
            laid.append((what, len(strip), v.amount, wrap(v.where, REGULAR, size, where_width)))
        return laid

    # Many vouchers: a smaller size, and past the room left a line that points to the pass page.
    for size in (10.5, 9, 8):
        leading = size + 3
        laid = rows(size)
        height = sum(max(len(w), len(h)) * leading + 3 for w, _, _, h in laid) + leading
        if page.y - height >= bottom:
            break
    page.text(_WHAT, "Wat", REGULAR, 8.5, grey=True)
    page.text(_AMOUNT_END, "Tegoed", REGULAR, 8.5, grey=True, right=True)
    page.text(_WHERE, "Waar", REGULAR, 8.5, grey=True)
    page.y -= leading
    for n, (what, strip_lines, amount, where) in enumerate(laid):
        lines = max(len(what), len(where))
        # A voucher that is not the last leaves a line for "En nog …", should the next one not fit.
        if page.y - (lines + (n < len(laid) - 1)) * leading < bottom:
            left = len(laid) - n
            page.paragraph(wording.more_vouchers(left),
                           size=size, leading=leading)
            return
        top = page.y
        page.text(_AMOUNT_END, amount, BOLD, size, right=True)
        for m in range(lines):
            page.y = top - m * leading
            if m < len(what):
                page.text(_WHAT, what[m], REGULAR, size, grey=m >= len(what) - strip_lines)
            if m < len(where):
                page.text(_WHERE, where[m], REGULAR, size)
        page.y = top - lines * leading - 3


def write_pdf(
    letters: Iterable[Letter],
    file: BinaryIO,
    *,
    total: int = 0,
    progress: Callable[[int, int], None] | None = None,
    every: int = 100,
    title: str = "Brieven kinderpas",
) -> int:
    """Draw each letter on a page of its own and write the PDF to ``file``;
    returns the number of pages. ``progress(done, total)`` every ``every`` letters."""
    _register_fonts()
    canvas = Canvas(file, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor("pasdienst")
    done = 0
    for letter in letters:
        draw_letter(canvas, letter)
        canvas.showPage()
        done += 1
        if progress and done % every == 0:
            progress(done, total)
    if done == 0:
        # A PDF needs a page: say there was nothing to print.
        _Page(canvas).text(LEFT, "Er zijn geen brieven om af te drukken.", REGULAR, 11)
        canvas.showPage()
    canvas.save()
    if progress:
        progress(done, total)
    return done
