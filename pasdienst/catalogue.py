"""The ``nl`` gettext catalogue itself: where it lives, compiling it, and looking a key up.

``pasdienst/translations/nl/LC_MESSAGES/messages.po`` holds every sentence a
person reads that Python writes: refusals by their code, what a page tells
after a form post (``notice.<key>``), and the usage report's note and chart
captions (``report.<key>``). This module only finds and fills them, with
Babel and the locale ``nl`` named explicitly (no Flask), so a service such as
the usage report reads the same catalogue as the pages. Writing parameters
the Dutch way (amounts, dates, states) is ``web/dutch.py``'s part.

The ``.mo`` is compiled when the project is installed (``scripts/lib/python.sh``)
and again on first use when it is missing or older than the ``.po`` (into the
temporary directory when the package cannot be written to), so an edit of the
``.po`` is never silently ignored.
"""
from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

#: The catalogues shipped with the package (``<dir>/nl/LC_MESSAGES/messages.po``).
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LOCALE = "nl"
DOMAIN = "messages"


def catalogue(directory: Path = TRANSLATIONS, locale: str = LOCALE) -> Path:
    """The ``.po`` file of ``locale``."""
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalogue(source: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Write ``messages.mo`` beside each ``messages.po`` under ``target`` (default: ``source``)
    when it is missing or older; returns the directory that holds the compiled catalogues.

    Written to a temporary file and renamed, so workers starting together never read half a
    file. Fuzzy entries are not compiled (gettext's rule); ``tests/test_dutch.py`` refuses them.
    """
    target = target or source
    for po in sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as file:
            messages = read_po(file, locale=po.parent.parent.name, domain=DOMAIN)
        handle, temporary = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(handle, "wb") as out:
                write_mo(out, messages)
            os.replace(temporary, mo)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return target


@functools.cache
def compiled() -> Path:
    """The directory of the compiled catalogues, compiling them first when needed."""
    try:
        return compile_catalogue()
    except OSError:
        # An installation nobody may write to (a read-only site-packages).
        fallback = Path(tempfile.gettempdir()) / f"pasdienst-translations-{os.getuid()}"
        log.warning("cannot write the compiled catalogue beside %s; compiling it into %s", TRANSLATIONS, fallback)
        return compile_catalogue(TRANSLATIONS, fallback)


@functools.cache
def _translations() -> Translations:
    found = Translations.load(str(compiled()), [LOCALE], DOMAIN)
    if not isinstance(found, Translations):
        raise RuntimeError(f"no compiled {LOCALE} catalogue in {compiled()}")
    return found


def sentence(key: str, values: Mapping[str, object] | None = None) -> str:
    """The catalogue's sentence for ``key`` with ``values`` filled in as they are (``%(name)s``);
    ``LookupError`` when the catalogue has none (a bug: ``tests/test_dutch.py`` holds keys and sentences together)."""
    text = _translations().gettext(key)
    if text == key:
        raise LookupError(f"the {LOCALE} catalogue has no sentence for {key!r}")
    return text % dict(values or {}) if "%" in text else text
