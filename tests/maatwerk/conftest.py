"""The settlement world (two children with passes, three merchants) with a gebiedsteam and a fund.

``maat.team_award(...)`` and ``maat.fund_award(...)`` award through the
services as a case worker of team Noord and a user of the Jeugdfonds would;
``maat.spend(...)`` redeems from an award's voucher at a merchant's till.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import pytest
from pasdienst import ledger
from pasdienst.access.accounts import actor_for_email
from pasdienst.access.policy import Actor
from pasdienst.maatwerk import funds, services
from pasdienst.maatwerk.models import Award, Fund, FundMember
from pasdienst.redeem import redemptions
from pasdienst.wallet.models import Voucher
from tests.factories import MadeUser, make_user
from tests.settlement.conftest import TODAY, World, at, world, world_settings  # noqa: F401 - fixtures

_keys = itertools.count(1)


@dataclass
class Maatwerk:
    world: World
    team: int
    caseworker: MadeUser
    fund: int
    fund_user: MadeUser

    @property
    def db(self):
        return self.world.db

    def actor(self, user: MadeUser) -> Actor:
        with self.db.read() as s:
            return actor_for_email(s, user.email)

    def request(self, amount: str = "225,00", *, child: str = "T-1", category: str = "sport_culture",
                merchant: str | None = "sport", reason: str = "membership", note: str = "",
                key: str | None = None) -> services.AwardRequest:
        return services.AwardRequest(
            child_ref=child, category=category, amount=amount, reason=reason, note=note,
            merchant_id=self.world.merchants[merchant] if merchant else None, idempotency_key=key,
        )

    def team_award(self, amount: str = "225,00", *, by: MadeUser | None = None, **kw) -> services.Awarded:
        with self.db.transaction() as s:
            return services.award_by_team(s, self.actor(by or self.caseworker), self.request(amount, **kw), today=TODAY)

    def fund_award(self, amount: str = "90,00", *, by: MadeUser | None = None, **kw) -> services.Awarded:
        with self.db.transaction() as s:
            return services.award_by_fund(s, self.actor(by or self.fund_user), self.request(amount, **kw), today=TODAY)

    def withdraw(self, award_id: int, by: MadeUser, *, today: date = TODAY, reason: str = "not_needed",
                 note: str = "") -> Award:
        with self.db.transaction() as s:
            return services.withdraw_award(s, self.actor(by), award_id, reason=reason, note=note, today=today)

    def spend(self, award_id: int, cents: int, merchant: str = "sport", day: int = 16) -> int:
        """A redemption of ``cents`` from the award's voucher at ``merchant``'s till."""
        with self.db.read() as s:
            voucher_id = s.get(Award, award_id).voucher_id
        payload, _ = self.world.passes["T-1"]
        when = at(day) if day <= 31 else at(31)
        with self.db.transaction() as s:
            done = redemptions.redeem(
                s, self.world.till(merchant), code=payload, voucher_id=voucher_id, amount_cents=cents,
                idempotency_key=f"m{next(_keys)}", settings=self.world.settings, today=when.date(), now=when,
            )
        return done.id

    def balance_of(self, award_id: int) -> int:
        with self.db.read() as s:
            voucher = s.get(Voucher, s.get(Award, award_id).voucher_id)
            return ledger.balance(s, voucher.account_id)

    def fund_balance(self) -> int:
        with self.db.read() as s:
            return ledger.balance(s, s.get(Fund, self.fund).account_id)


def set_budget(maat: Maatwerk, amount: str, year: int = 2027) -> None:
    with maat.db.transaction() as s:
        services.set_team_budget(s, maat.world.actor(maat.world.admin), maat.team, year, amount)


@pytest.fixture
def maat(world: World) -> Maatwerk:  # noqa: F811 - the settlement fixture imported above
    admin = world.actor(world.admin)
    caseworker = make_user(world.db, "caseworker", email="consulent@testdorp.example")
    fund_user = make_user(world.db, "fund", email="jeugdfonds@testdorp.example")
    with world.db.transaction() as s:
        team = services.create_team(s, admin, "Gebiedsteam Noord")
        services.add_team_member(s, admin, team.id, caseworker.id)
        services.set_team_budget(s, admin, team.id, 2027, "1000,00")
        fund = funds.create_fund(s, admin, "Jeugdfonds Sport & Cultuur")
        funds.topup_fund(s, admin, fund.id, "500,00", reference="overboeking 1 maart")
        # Linked directly: making the login through the admin's page is tested on its own.
        s.add(FundMember(user_id=fund_user.id, fund_id=fund.id))
        team_id, fund_id = team.id, fund.id
    return Maatwerk(world, team_id, caseworker, fund_id, fund_user)
