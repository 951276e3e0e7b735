"""Users, roles, API tokens and the audit log.

Design overview
---------------
* A **user** has one role: ``admin``, ``finance`` or ``caseworker`` of one
  municipality, or ``merchant`` of one merchant (and so of that merchant's
  municipality). The database itself refuses a merchant user without a
  merchant and a staff user with one.
* Passwords are stored as argon2id hashes; API tokens (``pd_…``) only as their
  SHA-256, so a copy of the database yields neither.
* Services take an :class:`~pasdienst.access.policy.Actor` (who is acting),
  never Flask's ``g``; the web layer builds it from the session or the Bearer
  token (``pasdienst/access/web.py``) and checks the role, the services check
  the scope (own municipality, own merchant).
* Every staff action writes an **audit event** in the same transaction as the
  change; the table is append-only (database triggers, as for the ledger).

The modules, lowest first: ``policy`` (the actor, scope checks, whether two
accounts are two people), ``audit`` (writing and reading the log), both below
every other service; ``passwords``; ``logins`` (a login's session and the
actor of a request); ``accounts`` (creating, logging in, new passwords,
blocking); ``tokens`` (API tokens); ``users`` (the admin's management of the
municipality's logins, with ``foureyes.requests`` for four eyes); ``web`` and
``views`` for Flask.
"""
