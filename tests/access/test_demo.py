from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from pasdienst.access.demo import DEMO_MERCHANTS, DEMO_STAFF
from pasdienst.cooperations.demo import NEIGHBOUR_STAFF
from pasdienst.access.models import User
from pasdienst.access.accounts import authenticate
from pasdienst.demo import load_demo
from pasdienst.merchants.models import CATEGORIES, Merchant


def test_the_demo_has_a_merchant_per_category_and_fixed_logins_and_loads_twice(db, settings):
    first = load_demo(db, settings, date(2027, 3, 1))
    second = load_demo(db, settings, date(2027, 3, 1))
    assert first.lines == second.lines
    assert any("local demo only" in line for line in first.lines)
    with db.read() as s:
        # and the fund's login of the maatwerk demo (pasdienst/maatwerk/demo.py)
        assert s.execute(select(func.count()).select_from(User)).scalar() == (
            len(DEMO_STAFF) + len(DEMO_MERCHANTS) + len(NEIGHBOUR_STAFF) + 1)
        merchants = s.execute(select(Merchant)).scalars().all()
        categories = {c for m in merchants for c in m.category_set}
        assert categories >= set(CATEGORIES) - {"other"} and all(m.approved for m in merchants)
        roles = sorted(s.execute(select(User.role).where(User.email.like("%@demodorp.example"))).scalars())
        assert roles.count("finance") == 2  # four eyes for settlement
    email, role, password = DEMO_STAFF[0]
    with db.transaction() as s:
        assert authenticate(s, email, password).role == role
