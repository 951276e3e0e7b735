"""Cooperations of municipalities (samenwerkingsverbanden): ``models``,
``services`` (forming one, members joining, merchants admitted), ``runs``
(the cooperation's own payment runs) and ``checks`` (``ledger verify``)."""
