"""The municipality's back office: ``/admin`` (issue 6).

Design overview
---------------
* Pages only call services. The services here cover what no other package
  already does: finding children (never by BSN) and their history, the case
  workers' discretionary awards within a yearly cap, the page of four-eyes
  requests (their services are ``foureyes``'s; a merchant's IBAN change is
  ``merchants.iban``'s), the budget threshold, and scope-checked, audited
  wrappers around the wallet's block, reissue, import and scheme services.
* Every query is filtered by the actor's municipality; a record of another
  municipality is "not found" (404), never "forbidden", so its existence is
  not revealed.
* Every state change writes ``record_audit`` in the caller's transaction.
* Roles: ``admin`` does everything here; ``caseworker`` finds children, sees
  their passes and registers a child with an override reason (and issues its
  pass) within the cap; finance pages and the budget are admin-only.
"""
