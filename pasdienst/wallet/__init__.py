"""The wallet: schemes, children, passes and their vouchers (issue 3).

Design overview
---------------
* A **scheme** (one per municipality and year, from a TOML file) lists what a
  child gets by age: budgets per category, punch cards, cheques.
* **Children** come from the municipality's CSV export. The BSN is kept only
  as a keyed hash (to recognise a child in a later import), the income only
  encrypted; neither is ever logged.
* **Issuing** gives every eligible child one **pass** per year holding one
  **voucher** per entitlement. Each voucher owns a non-negative ledger
  account, funded by an ``issue`` transfer from the fund; a punch card's
  balance is strips × strip value.
* A pass is reached by a signed QR token (``/p/HANDLE.MAC``) or a typed
  fallback code. Neither carries personal data; the database stores only
  the random handle and a keyed hash of the code. A reissue is a new
  generation with a new handle and code; the old one stops at once.
* **Year end** expires the passes and returns unused balances to the fund.

Other packages use ``resolve_pass`` and the models re-exported here.
"""
from .codes import looks_like_typed_code
from .errors import InvalidCode, PassBlocked, PassExpired
from .lifecycle import resolve_pass
from .models import Child, ChildPass, Voucher

__all__ = [
    "Child",
    "ChildPass",
    "InvalidCode",
    "PassBlocked",
    "PassExpired",
    "Voucher",
    "looks_like_typed_code",
    "resolve_pass",
]
