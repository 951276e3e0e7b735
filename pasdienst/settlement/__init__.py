"""Settlement: paying merchants what children spent with them.

Batches of redemptions are settled per municipality; finance approves them
(four eyes) and pays them with one SEPA credit-transfer file per batch.
``sepa`` builds that file, ``statements`` the per-merchant statement and the
batch-lines CSV. Both are pure: they take plain values, never a session.
``services`` runs the batches (create, approve, export, paid, cancel,
correct) on a session; ``models`` holds them, ``claims`` answers "is this
redemption in a batch?" for ``redeem``, ``checks`` adds their invariants to
``pasdienst ledger verify``, ``views`` serves ``/finance`` and
``/merchant/uitbetalingen``.
"""
