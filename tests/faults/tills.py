"""Tills that keep redeeming while something breaks, and what they were told.

Each till is a thread posting ``POST /api/v1/redemptions`` with a new
``Idempotency-Key`` per redemption, over a new connection each time (gunicorn's
sync workers close every connection anyway). It files every answer as

* ``success``: 201 with the redemption's id and receipt;
* ``failure``: a 4xx with a problem code (``insufficient_balance`` here);
* unknown: a reset or timed-out connection, a 5xx, or 409
  ``request_in_progress``. The till then does what the merchant page does:
  it sends the same request with the **same** key again until the answer is
  definite. An outcome still unknown when its deadline passes is filed
  ``unresolved``, which the tests treat as a failure of the product.

``check_books`` then holds the database to what the tills were told.
"""
from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.benchkit import World, verify_cli

#: How long a till keeps retrying one unknown outcome before giving up.
RESOLVE_SECONDS = 30.0
TIMEOUT = 10.0  # a slow answer under load is still an answer; gunicorn gives up at 30 s


@dataclass
class Attempt:
    key: str
    merchant: int  # index into World.tokens / World.merchant_ids
    voucher_id: int
    amount_cents: int
    started: float  # time.monotonic()
    outcome: str = ""  # success | failure | unresolved
    redemption_id: int | None = None
    receipt_no: str | None = None
    code: str | None = None  # the problem code of a failure
    unknowns: list[str] = field(default_factory=list)  # what each unknown answer was
    answered: float = 0.0  # when the definite answer came


def request(base_url: str, method: str, path: str, *, body: dict | None = None, headers: dict | None = None,
            timeout: float = TIMEOUT) -> tuple[int, dict]:
    """One request on its own connection: (status, JSON body or {}). Raises
    ``OSError`` or ``http.client.HTTPException`` when no answer came."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        payload = {}
    return response.status, payload if isinstance(payload, dict) else {}


def redeem_until_definite(base_url: str, world: World, attempt: Attempt, payload: str) -> Attempt:
    """Post the redemption, repeating it with the same key while the outcome is unknown."""
    body = {"code": payload, "voucher_id": attempt.voucher_id, "amount_cents": attempt.amount_cents}
    headers = {"Authorization": f"Bearer {world.tokens[attempt.merchant]}", "Idempotency-Key": attempt.key}
    deadline = None
    while True:
        try:
            status, answer = request(base_url, "POST", "/api/v1/redemptions", body=body, headers=headers)
        except (OSError, http.client.HTTPException) as exc:
            unknown = type(exc).__name__
        else:
            code = answer.get("code")
            if status == 201:
                attempt.outcome, attempt.redemption_id, attempt.receipt_no = "success", answer["id"], answer["receipt_no"]
                attempt.answered = time.monotonic()
                return attempt
            if 400 <= status < 500 and code != "request_in_progress":
                attempt.outcome, attempt.code = "failure", code or f"HTTP {status} without a code"
                attempt.answered = time.monotonic()
                return attempt
            unknown = f"{status} {code or ''}".strip()
        attempt.unknowns.append(unknown)
        deadline = deadline or time.monotonic() + RESOLVE_SECONDS
        if time.monotonic() > deadline:
            attempt.outcome = "unresolved"
            return attempt
        time.sleep(0.1)


class Tills:
    """``clients`` threads redeeming on ``world``'s passes until ``stop()``.

    Most amounts are small; a share ``over_budget`` asks for more than a
    voucher ever held, so there are definite refusals all along, and the
    small ones run some vouchers dry as well.
    """

    def __init__(self, base_url: str, world: World, *, clients: int = 8, passes: int | None = None,
                 small_max_cents: int = 700, over_budget: float = 0.15, pause: float = 0.02, seed: int = 7) -> None:
        self.base_url = base_url
        self.world = world
        self.passes = world.passes[: passes or len(world.passes)]
        self.clients = clients
        self.small_max_cents = small_max_cents
        self.over_budget = over_budget
        self.pause = pause
        self.seed = seed
        self.attempts: list[Attempt] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Tills:
        self._threads = [threading.Thread(target=self._till, args=(i,), daemon=True) for i in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RESOLVE_SECONDS + 15)

    def _till(self, i: int) -> None:
        rng = random.Random(self.seed * 1000 + i)
        merchant = i % len(self.world.tokens)
        try:
            while not self._stop.is_set():
                payload, voucher_id = rng.choice(self.passes)
                amount = (self.world.budget_cents + 1 if rng.random() < self.over_budget
                          else rng.randint(1, self.small_max_cents))
                attempt = Attempt(f"till{i}-{uuid.uuid4().hex}", merchant, voucher_id, amount, time.monotonic())
                redeem_until_definite(self.base_url, self.world, attempt, payload)
                with self._lock:
                    self.attempts.append(attempt)
                time.sleep(rng.uniform(0, self.pause))
        except BaseException as exc:  # reported by the test, not lost in the thread
            with self._lock:
                self.errors.append(exc)

    def summary(self) -> str:
        outcomes = Counter(a.outcome for a in self.attempts)
        unknowns = Counter(u for a in self.attempts for u in a.unknowns)
        return f"{dict(outcomes)}; unknown answers before resolving: {dict(unknowns) or 'none'}"


def check_books(url: str, world: World, attempts: list[Attempt], env: dict[str, str]) -> None:
    """Every redemption a till was told succeeded is in the ledger exactly
    once, none it was told failed exists, every voucher holds its budget
    minus its successes, and ``pasdienst ledger verify`` exits 0."""
    from sqlalchemy import select

    from pasdienst import books, ledger
    from pasdienst.db import Database
    from pasdienst.ledger import Transfer
    from pasdienst.redeem.models import Redemption
    from pasdienst.wallet.models import Voucher

    unresolved = [a for a in attempts if a.outcome not in ("success", "failure")]
    assert not unresolved, f"{len(unresolved)} outcomes never became definite, e.g. {unresolved[:3]}"
    successes = {(world.merchant_ids[a.merchant], a.key): a for a in attempts if a.outcome == "success"}
    failures = {(world.merchant_ids[a.merchant], a.key): a for a in attempts if a.outcome == "failure"}
    assert len(successes) + len(failures) == len(attempts), "an Idempotency-Key was used twice by the tills"
    assert {a.code for a in failures.values()} <= {"insufficient_balance"}, Counter(a.code for a in failures.values())

    db = Database(url)
    try:
        with db.read() as s:
            rows = s.execute(
                select(Redemption.id, Redemption.merchant_id, Redemption.idempotency_key, Redemption.amount_cents,
                       Redemption.voucher_id, Redemption.receipt_no, Redemption.transfer_id, Redemption.voided_at)
            ).all()
            transfer_amounts = dict(s.execute(select(Transfer.id, Transfer.amount).where(Transfer.kind == books.REDEEM)).all())
            accounts = dict(s.execute(select(Voucher.id, Voucher.account_id)).all())
            balances = {vid: ledger.balance(s, accounts[vid]) for _, vid in world.passes}
    finally:
        db.dispose()

    stored: dict[tuple[int, str], list] = defaultdict(list)
    for row in rows:
        stored[(row.merchant_id, row.idempotency_key)].append(row)
    for key, attempt in successes.items():
        found = stored.get(key, [])
        assert len(found) == 1, f"told success, stored {len(found)} times: {attempt}"
        row = found[0]
        assert (row.id, row.receipt_no, row.amount_cents, row.voucher_id) == (
            attempt.redemption_id, attempt.receipt_no, attempt.amount_cents, attempt.voucher_id
        ), f"stored {row} differs from what the till was told: {attempt}"
        assert row.voided_at is None
        assert transfer_amounts.get(row.transfer_id) == attempt.amount_cents, f"transfer of {attempt}"
    told_failed = [key for key in failures if key in stored]
    assert not told_failed, f"told failed but stored: {[failures[k] for k in told_failed][:3]}"
    phantoms = [key for key in stored if key not in successes]
    assert not phantoms, f"stored redemptions no till was told about: {phantoms[:3]}"
    # One redeem transfer per success: none written twice, none left without its redemption.
    assert len({row.transfer_id for row in rows}) == len(rows) == len(successes) == len(transfer_amounts)

    spent: Counter[int] = Counter()
    for attempt in successes.values():
        spent[attempt.voucher_id] += attempt.amount_cents
    for _, voucher_id in world.passes:
        assert balances[voucher_id] == world.budget_cents - spent[voucher_id], f"voucher {voucher_id}"

    verified = verify_cli(env)
    assert verified.returncode == 0, f"pasdienst ledger verify failed:\n{verified.stdout}\n{verified.stderr}"
