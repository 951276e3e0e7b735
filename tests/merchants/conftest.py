"""The till's world (tests/redeem/conftest.py): bindings are proven where they bite, at the till."""
from __future__ import annotations

from tests.redeem.conftest import till, till_settings  # noqa: F401 - fixtures, shared with the till's tests
