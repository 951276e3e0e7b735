"""Four eyes: changes one admin asks for and a second person confirms.

``models`` (the ``four_eyes_request`` row, its kinds and states), ``errors``
(``SecondAdminRequired``) and ``requests`` (asking, confirming, rejecting and
the pending list of ``/admin/verzoeken``). A new admin or finance account, a
new password for one and a merchant's approval are its kinds; the packages
that own those changes (``access.users``, ``merchants.approval``,
``merchants.api``) ask here, and ``admin`` shows and decides. A merchant's
IBAN change keeps its own table in ``merchants`` and uses the refusal and
``access.policy.same_hands`` from here and below.
"""
