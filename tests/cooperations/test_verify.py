"""``ledger verify`` proves that no cent crosses between members without a transfer that says so."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, update

from pasdienst import books, ledger
from pasdienst.cooperations.models import CooperationPayable
from pasdienst.redeem.models import Redemption

pytestmark = pytest.mark.money


def test_a_payable_row_outside_the_cooperation_is_found(db, region):
    """Noord's bookshop was never admitted: a row letting it take zuid's passes is a hole."""
    boek = region.merchants["boek"]
    with db.transaction() as s:
        account = ledger.open_account(
            s, key=books.merchant_key("zuid", boek), kind=books.MERCHANT_PAYABLE, ledger="zuid",
            non_negative=False, balance_cached=False,
        )
        s.execute(insert(CooperationPayable).values(
            merchant_id=boek, municipality_id=region.ids["zuid"], cooperation_id=1, account_id=account,
        ))
    assert any(p.startswith("cooperation_payables:") and f"M{boek}@zuid" in p for p in region.verify())


def test_a_redemption_booked_to_another_member_is_found(db, region):
    made = region.redeem("sport", "zuid", 1500)
    assert region.verify() == []
    with db.transaction() as s:
        s.execute(update(Redemption).where(Redemption.id == made).values(municipality_id=region.ids["noord"]))
    assert any(p.startswith("redemption_partitions:") and str(made) in p for p in region.verify())
