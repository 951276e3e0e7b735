"""The ledger is used through ``pasdienst.ledger`` alone: its modules
(``services``, ``verify``, ``models``, ``errors``, ``_sql``) are its own to
rearrange, and no caller outside the package imports one of them."""
from __future__ import annotations

import ast
from pathlib import Path

import pasdienst
from pasdienst import ledger

ROOT = Path(pasdienst.__file__).parent


def _into_the_ledger(path: Path) -> list[str]:
    package = ".".join(["pasdienst", *path.relative_to(ROOT).parent.parts])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join([*base, node.module or ""]) if node.level else node.module or ""
            names = [source] if source != "pasdienst.ledger" else []
            names += [f"{source}.{alias.name}" for alias in node.names if source == "pasdienst.ledger"]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names if name.startswith("pasdienst.ledger.")
                  and name.removeprefix("pasdienst.ledger.") not in ledger.__all__]
    return found


def test_callers_import_the_ledger_from_its_package_only():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.relative_to(ROOT).parts[0] not in ("ledger", "migrations"):
            found += _into_the_ledger(path)
    assert found == [], "import these from pasdienst.ledger:\n" + "\n".join(found)


def test_the_package_offers_what_its_callers_use():
    for name in ("open_accounts", "verify", "register_check", "Problem", "Posted", "accounts_by_kind"):
        assert name in ledger.__all__
