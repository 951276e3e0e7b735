"""Settlement: paying merchants what children spent with them.

Batches of redemptions are settled per municipality; finance approves them
(four eyes) and pays them with one SEPA credit-transfer file per batch.
``sepa`` builds that file, ``statements`` the per-merchant statement and the
batch-lines CSV. Both are pure: they take plain values, never a session.
On a session: ``batches`` runs a batch's steps (create, four-eyes approval,
cancel, paid, and following a cooperation's payment run), ``export`` makes
its files (payment file, lines CSV, statements), ``corrections`` takes back a
settled redemption, ``queries`` reads batches and payouts for the pages and
the command line, ``returns`` books the bank's returns; ``models`` holds them, ``claims`` answers "is this
redemption in a batch?" for ``redeem``, ``checks`` adds their invariants to
``pasdienst ledger verify``, ``views`` serves ``/finance`` and
``/merchant/uitbetalingen``.
"""
