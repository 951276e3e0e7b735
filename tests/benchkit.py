"""What the benchmark, load and fault runs share.

* ``prepare``: a database with a municipality, N issued passes (one sport
  budget each) and M merchants, each with a till user and an API token;
* ``gunicorn``: the real app (or another WSGI spec) served by gunicorn with
  ``pasdienst/gunicorn_conf.py`` on a free port, until the block ends;
* ``money_check`` and ``verify_cli``: the ledger's own verification, and
  that redemptions, merchant payables and voucher balances add up.

Not part of the product: the benchmarks (``python -m scripts.bench_redeem``
from the repository root) and the fault tests (``tests/faults/``) import it
from here.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pasdienst import ledger, migrate
from pasdienst.access.accounts import create_user
from pasdienst.access.passwords import hash_password
from pasdienst.access.tokens import create_token
from pasdienst.config import Settings
from pasdienst.db import Database
from pasdienst.ledger import verify
from pasdienst.municipalities.services import add_municipality, topup_budget
from pasdienst.plugins import load_verify_checks
from pasdienst.merchants.records import add_merchant
from pasdienst.redeem.models import Redemption
from pasdienst.wallet.models import Voucher
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import export_rows, import_children, issue_passes, load_scheme, resolve_pass

ROOT = Path(__file__).resolve().parents[1]

PG_URL = os.environ.get("PASDIENST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = date(2027, 3, 15)
BUDGET_CENTS = 1_000_000  # € 10,000 per pass: no benchmark run comes near spending it
SECRET = "bench-redeem-key-" + "x" * 24
MUNICIPALITY = "benchdorp"
PASSWORD = "bench password 1234"


def scheme(budget_cents: int = BUDGET_CENTS) -> str:
    """The 2027 scheme: one sport and culture budget of ``budget_cents`` a child."""
    return sample_scheme(
        MUNICIPALITY, 2027, budgets={"sport_culture": f"{budget_cents // 100}.{budget_cents % 100:02d}"},
        sliding_scale=(), strips=None, cheque=None,
    )


# -- serving -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        """The gunicorn workers alive now: the master's children."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces; the fields after it do not.
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[1] == str(self.process.pid) and fields[0] != "Z":
                pids.append(int(entry.name))
        return sorted(pids)


def server_env(url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment the product needs to serve (and ``pasdienst`` to run) on ``url``."""
    return {
        "PASDIENST_DATABASE_URL": url,
        "PASDIENST_SECRET_KEY": SECRET,
        "PASDIENST_TODAY": TODAY.isoformat(),
        "PASDIENST_INSTANCE_PATH": str(instance),
        **extra,
    }


@contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str], *, workers: int, log: Path,
    start_timeout: float = 30, cwd: Path | None = None, max_requests: int | None = None,
) -> Iterator[Server]:
    """Serve ``app_spec`` until the block ends; yields once ``/healthz`` answers.

    ``cwd``: where gunicorn starts (``python -m`` puts it first on the path:
    a git worktree of another commit serves that commit's product).
    ``max_requests``: instead of ``gunicorn_conf``'s (0: workers are never recycled)."""
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "-c", "python:pasdienst.gunicorn_conf", "--workers", str(workers),
            "--bind", f"127.0.0.1:{port}"]
    if max_requests is not None:
        args += ["--max-requests", str(max_requests)]
    with log.open("ab") as out:
        proc = subprocess.Popen([*args, app_spec], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=cwd or ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as r:  # our own server
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start ({app_spec}); see {log}")
            time.sleep(0.1)
        yield Server(url, proc, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the world -------------------------------------------------------------------

@dataclass
class World:
    tokens: list[str]  # one API token per merchant
    passes: list[tuple[str, int]]  # (QR payload, voucher id)
    merchant_accounts: list[int]
    budget_cents: int = BUDGET_CENTS  # on each voucher when issued
    merchant_ids: list[int] = field(default_factory=list)  # in the order of ``tokens``


def children_csv(n: int) -> bytes:
    lines = ["child_ref;first_name;birth_date;income_pct"]
    lines += [f"B-{i:06d};Kind{i};{2010 + i % 12}-0{1 + i % 9}-1{i % 9};100" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def prepare(
    url: str, n: int, instance: Path, merchants: int = 1, *, budget_cents: int = BUDGET_CENTS, token_name: str = "wrk",
) -> World:
    """Migrate ``url`` and fill it: ``n`` passes of ``budget_cents`` and ``merchants`` sports clubs."""
    settings = Settings(database_url=url, secret_keys=(SECRET,), today=TODAY, instance_path=instance)
    db = Database(url)
    migrate.upgrade(db)
    with db.transaction() as s:
        add_municipality(s, MUNICIPALITY, name="Gemeente Benchdorp", iban="NL91ABNA0417164300")
        topup_budget(s, MUNICIPALITY, n * budget_cents, reference="bench")
        load_scheme(s, scheme(budget_cents))
        import_children(s, MUNICIPALITY, children_csv(n), settings=settings, today=TODAY)
        issue_passes(s, MUNICIPALITY, 2027, settings=settings, today=TODAY)
        password_hash = hash_password(PASSWORD)
        tokens, merchant_accounts, merchant_ids = [], [], []
        for m in range(merchants):
            merchant = add_merchant(
                s, MUNICIPALITY, name=f"Sportclub Bench {m + 1}", categories="sport_culture", iban="NL91ABNA0417164300"
            )
            merchant_accounts.append(merchant.account_id)
            merchant_ids.append(merchant.id)
            create_user(s, f"kassa{m + 1}@bench.example", role="merchant", merchant_id=merchant.id,
                        password=PASSWORD, password_hash=password_hash, must_change_password=False)
            tokens.append(create_token(s, f"kassa{m + 1}@bench.example", token_name))
    passes = []
    with db.read() as s:
        for row in export_rows(s, MUNICIPALITY, settings=settings, today=TODAY):
            child_pass = resolve_pass(s, row.url, settings=settings, today=TODAY)
            voucher = s.query(Voucher).filter(Voucher.pass_id == child_pass.id).one()
            passes.append((row.url, voucher.id))
    db.dispose()
    assert len(passes) == n, f"{len(passes)} passes issued, {n} wanted"
    return World(tokens, passes, merchant_accounts, budget_cents, merchant_ids)


# -- checking -------------------------------------------------------------------------

@dataclass
class MoneyCheck:
    summary: str  # ledger verify's one line
    redemptions: int  # not voided
    redeemed_cents: int  # their total
    voided: int
    payable_cents: int  # the world's merchants' payables
    voucher_cents: int  # left on the world's vouchers
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def money_check(url: str, world: World) -> MoneyCheck:
    """Verify the ledger, and that what the merchants are owed is what was
    redeemed and not voided, and is what the vouchers lost."""
    load_verify_checks()
    db = Database(url)
    with db.read() as s:
        report = verify(s)
        count, total = s.execute(
            select(func.count(), func.coalesce(func.sum(Redemption.amount_cents), 0)).where(Redemption.voided_at.is_(None))
        ).one()
        voided = s.execute(select(func.count()).where(Redemption.voided_at.is_not(None))).scalar_one()
        payable = sum(ledger.balance(s, account) for account in world.merchant_accounts)
        voucher_ids = {vid for _, vid in world.passes}
        # Through the ledger, not the account rows: a balance may be derived from postings.
        left = sum(
            ledger.balance(s, account_id)
            for voucher_id, account_id in s.execute(select(Voucher.id, Voucher.account_id)).all()
            if voucher_id in voucher_ids
        )
    db.dispose()
    problems = [str(p) for p in report.problems]
    if payable != total:
        problems.append(f"merchant payable {payable} != redeemed {total}")
    issued = len(world.passes) * world.budget_cents
    if left + total != issued:
        problems.append(f"vouchers hold {left} + redeemed {total} != issued {issued}")
    return MoneyCheck(report.summary(), int(count), int(total), int(voided), int(payable), int(left), problems)


def verify_cli(env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``pasdienst ledger verify`` as an operator runs it, in its own process."""
    command = Path(sys.executable).with_name("pasdienst")
    args = [str(command)] if command.exists() else [sys.executable, "-c", "from pasdienst.cli import main; main()"]
    return subprocess.run(
        [*args, "ledger", "verify"], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A throwaway schema in ``PASDIENST_TEST_POSTGRES_URL``; yields its SQLAlchemy URL."""
    schema = f"{prefix}_{os.getpid()}"
    base = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
