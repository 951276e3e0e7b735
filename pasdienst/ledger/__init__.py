"""The double-entry ledger: accounts, transfers and postings in integer cents.

Design overview
---------------
* An **account** has a ``key`` (``opsterland:fund``), a ``kind``, a ``ledger``
  partition (the municipality code: every transfer stays inside one
  partition) and a cached ``balance``. Accounts flagged ``non_negative`` can
  never drop below zero: the balance is only ever changed by a guarded
  ``UPDATE ... WHERE balance + :delta >= 0`` in the same transaction as the
  postings, and a CHECK constraint backs that up. An account that many
  concurrent transfers credit (a merchant's payable) keeps no cached
  balance (``balance_cached`` off): its balance is the sum of its postings,
  so those transfers never queue on one shared row; it cannot be guarded.
* A **transfer** is one atomic movement of money made of two or more signed
  **postings** that sum to zero. Postings are written *before* their transfer
  row (the foreign key is deferred to commit); a trigger on the transfer row
  then checks that its postings balance, and a trigger on postings refuses
  any posting for a transfer that is already written. Both tables are
  append-only: triggers refuse UPDATE and DELETE on both databases.
* A correction is a **reversal**: a new transfer with the negated postings
  that points at the original through a unique ``reverses_id``, so nothing
  can be reversed twice.
* A transfer may carry a unique **idempotency key** and a fingerprint of what
  it moves: the same key with the same body returns the stored transfer and
  moves nothing; with another body it is refused.

The ledger knows nothing of Flask, passes or merchants; callers name their
accounts and kinds, and import only from this package (its modules are its
own: ``services`` moves money, ``verify`` checks the books, ``_sql`` holds
the statements written out per database).
"""
from .errors import (
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
    LedgerError,
    UnknownAccount,
)
from .models import Account, Posting, Transfer
from .services import (
    Leg,
    NewTransfer,
    Posted,
    accounts_by_kind,
    balance,
    balances,
    get_account,
    kind_totals,
    open_account,
    open_accounts,
    post,
    post_many,
    reverse,
    transfer,
)
from .verify import Check, Problem, Report, register_check, verify

__all__ = [
    "Account",
    "Check",
    "AlreadyReversed",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InvalidTransfer",
    "Leg",
    "LedgerError",
    "NewTransfer",
    "Posted",
    "Posting",
    "Problem",
    "Report",
    "Transfer",
    "UnknownAccount",
    "accounts_by_kind",
    "balance",
    "balances",
    "get_account",
    "kind_totals",
    "open_account",
    "open_accounts",
    "post",
    "post_many",
    "register_check",
    "reverse",
    "transfer",
    "verify",
]
