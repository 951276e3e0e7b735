"""Forming a cooperation: the operator invites, each member's own admin agrees and admits its merchants."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pasdienst import books, ledger
from pasdienst.access.errors import Forbidden
from pasdienst.access.models import AuditEvent
from pasdienst.access.accounts import actor_for_email
from pasdienst.cooperations import services as coop
from pasdienst.cooperations.models import ACTIVE, INVITED, CooperationPayable
from pasdienst.errors import Conflict, NotFound, ValidationFailed
from tests.factories import make_merchant, make_municipality, make_user


@pytest.fixture
def three(db):
    for code in ("noord", "zuid", "oost"):
        make_municipality(db, code)
    return {code: make_user(db, "admin", municipality=code, email=f"beheer@{code}.example") for code in ("noord", "zuid", "oost")}


def admin(db, user):
    with db.read() as s:
        return actor_for_email(s, user.email)


def test_the_lead_is_the_first_member_and_the_cooperation_has_its_own_partition(db, three):
    with db.transaction() as s:
        cooperation = coop.create_cooperation(s, "Regio", name=" Kindpakket  De Regio ", lead="noord")
        assert (cooperation.code, cooperation.name, cooperation.payout) == ("regio", "Kindpakket De Regio", "members")
    with db.read() as s:
        view = coop.describe(s, "regio")
        assert [(m.code, m.status, m.lead) for m in view.members] == [("noord", ACTIVE, True)]
        clearing = ledger.get_account(s, books.clearing_key(books.cooperation_ledger("regio")))
        assert (clearing.ledger, clearing.kind) == ("sv.regio", books.CLEARING)
        actions = s.execute(select(AuditEvent.action).where(AuditEvent.action.like("cooperation.%"))).scalars().all()
    assert actions == ["cooperation.create"]


@pytest.mark.parametrize("bad, message", [
    (dict(code="x"), "2-40 lowercase"),
    (dict(name=""), "needs a name"),
    (dict(lead="nergens"), "no municipality"),
    (dict(payout="alle"), "payout must be one of"),
    (dict(payout="cooperation"), "needs the IBAN"),
    (dict(iban="NL00BANK0000000000"), "not valid"),
])
def test_a_cooperation_is_refused_with_a_reason(db, three, bad, message):
    args = dict(code="regio", name="De Regio", lead="noord", payout="members") | bad
    code = args.pop("code")
    with pytest.raises((ValidationFailed, NotFound), match=message), db.transaction() as s:
        coop.create_cooperation(s, code, **args)


def test_an_invitation_changes_nothing_until_the_members_own_admin_joins(db, three):
    sport = make_merchant(db, "noord", name="Sportclub Noord", categories=("sport_culture",))
    with db.transaction() as s:
        coop.create_cooperation(s, "regio", name="De Regio", lead="noord")
        coop.admit_merchant(s, admin(db, three["noord"]), sport)
        assert coop.invite_member(s, "regio", "zuid").status == INVITED
    with db.read() as s:
        assert s.execute(select(CooperationPayable)).all() == []
    with pytest.raises(Forbidden), db.transaction() as s:
        coop.join_cooperation(s, admin(db, three["noord"]), "zuid")  # the lead cannot join for zuid
    with db.transaction() as s:
        joined = coop.join_cooperation(s, admin(db, three["zuid"]), "zuid")
        assert joined.changed and joined.member.status == ACTIVE
    with db.transaction() as s:
        assert not coop.join_cooperation(s, admin(db, three["zuid"]), "zuid").changed
    with db.read() as s:
        (payable,) = s.execute(select(CooperationPayable)).scalars()
        account = s.get(ledger.Account, payable.account_id)
        assert (account.key, account.ledger) == (books.merchant_key("zuid", sport), "zuid")
        zuid_log = s.execute(
            select(AuditEvent.action, AuditEvent.actor_email).where(AuditEvent.municipality_id == payable.municipality_id, AuditEvent.action.like("cooperation.%"))
            .order_by(AuditEvent.id)
        ).all()
    assert zuid_log == [("cooperation.invite", "cli"), ("cooperation.join", "beheer@zuid.example")]


def test_a_municipality_is_in_one_cooperation_at_a_time(db, three):
    with db.transaction() as s:
        coop.create_cooperation(s, "regio", name="De Regio", lead="noord")
        coop.invite_member(s, "regio", "zuid")
    with pytest.raises(Conflict, match="already invited"), db.transaction() as s:
        coop.create_cooperation(s, "ander", name="Ander", lead="zuid")
    with pytest.raises(Conflict, match="already a member"), db.transaction() as s:
        coop.create_cooperation(s, "ander", name="Ander", lead="oost")
        coop.invite_member(s, "ander", "noord")
    with db.transaction() as s:
        assert coop.invite_member(s, "regio", "zuid").status == INVITED  # again: nothing new


def test_only_the_merchants_own_admin_admits_it_and_only_into_an_active_membership(db, three):
    mode = make_merchant(db, "zuid", name="Mode Zuid", categories=("clothing",))
    with db.transaction() as s:
        coop.create_cooperation(s, "regio", name="De Regio", lead="noord")
        coop.invite_member(s, "regio", "zuid")
    with pytest.raises(ValidationFailed, match="not a member"), db.transaction() as s:
        coop.admit_merchant(s, admin(db, three["zuid"]), mode)
    with db.transaction() as s:
        coop.join_cooperation(s, admin(db, three["zuid"]), "zuid")
    with pytest.raises(Forbidden), db.transaction() as s:
        coop.admit_merchant(s, admin(db, three["noord"]), mode)
    with db.transaction() as s:
        admitted = coop.admit_merchant(s, admin(db, three["zuid"]), mode)
        assert admitted.changed and admitted.members == ("noord",)
    with db.transaction() as s:
        assert not coop.admit_merchant(s, admin(db, three["zuid"]), mode).changed
    with db.transaction() as s:
        assert coop.withdraw_merchant(s, admin(db, three["zuid"]), mode).changed
    with db.read() as s:
        assert s.execute(select(CooperationPayable)).all() == []
        # The account stays: what noord's children spent there is still settled.
        assert ledger.get_account(s, books.merchant_key("noord", mode))


def test_the_lead_cannot_leave_and_a_member_that_leaves_takes_its_merchants_along(db, three):
    sport = make_merchant(db, "noord", name="Sportclub Noord", categories=("sport_culture",))
    mode = make_merchant(db, "zuid", name="Mode Zuid", categories=("clothing",))
    with db.transaction() as s:
        coop.create_cooperation(s, "regio", name="De Regio", lead="noord")
        coop.invite_member(s, "regio", "zuid")
        coop.join_cooperation(s, None, "zuid")
        coop.admit_merchant(s, None, sport)
        coop.admit_merchant(s, None, mode)
        assert len(s.execute(select(CooperationPayable)).all()) == 2
    with pytest.raises(ValidationFailed, match="lead"), db.transaction() as s:
        coop.leave_cooperation(s, admin(db, three["noord"]), "noord")
    with db.transaction() as s:
        coop.leave_cooperation(s, admin(db, three["zuid"]), "zuid")
    with db.read() as s:
        assert s.execute(select(CooperationPayable)).all() == []
        assert [m.name for m in coop.describe(s, "regio").merchants] == ["Sportclub Noord"]
    with db.transaction() as s:  # free to be invited again, or elsewhere
        coop.invite_member(s, "regio", "zuid")


def test_the_operator_sets_who_pays(db, three):
    with db.transaction() as s:
        coop.create_cooperation(s, "regio", name="De Regio", lead="noord")
    with pytest.raises(ValidationFailed, match="IBAN"), db.transaction() as s:
        coop.set_payout(s, "regio", "cooperation")
    with db.transaction() as s:
        cooperation = coop.set_payout(s, "regio", "cooperation", iban="NL44 RABO 0123 4567 89")
        assert (cooperation.payout, cooperation.iban) == ("cooperation", "NL44RABO0123456789")
    with db.transaction() as s:
        assert coop.set_payout(s, "regio", "members").iban == "NL44RABO0123456789"  # kept for later
    with db.read() as s:
        assert s.execute(select(AuditEvent.action).where(AuditEvent.action == "cooperation.payout")).scalars().all() == [
            "cooperation.payout", "cooperation.payout",
        ]


def test_the_command_line(cli, db, three):
    sport = make_merchant(db, "noord", name="Sportclub Noord", categories=("sport_culture",))
    created = cli("cooperation", "create", "regio", "--name", "Kindpakket De Regio", "--lead", "noord")
    assert created.output.splitlines()[-1] == "regio"
    assert "invited zuid" in cli("cooperation", "add-member", "regio", "zuid").output
    assert "joined regio" in cli("cooperation", "join", "zuid", "--by", three["zuid"].email).output
    assert "takes the passes of zuid" in cli("cooperation", "add-merchant", str(sport), "--by", three["noord"].email).output
    shown = cli("cooperation", "show", "regio").output
    assert "noord" in shown and "lead" in shown and "Sportclub Noord" in shown
    assert "regio" in cli("cooperation", "list").output
    refused = cli("cooperation", "join", "oost", "--by", three["oost"].email, ok=False)
    assert refused.exit_code == 1 and refused.output.strip() == "error: oost is not invited to a cooperation"
    refused = cli("cooperation", "add-merchant", str(sport), "--by", three["zuid"].email, ok=False)
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    assert "pays by cooperation" in cli("cooperation", "set-payout", "regio", "cooperation", "--iban", "NL44RABO0123456789").output
    assert "left regio" in cli("cooperation", "leave", "zuid").output
