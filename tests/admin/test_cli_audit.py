"""The command line's writes are in the audit log as the admin pages' are: same actions, same snapshots, actor "cli"."""
from __future__ import annotations

from sqlalchemy import select

from pasdienst.access.models import AuditEvent
from pasdienst.access.logins import load_actor
from pasdienst.wallet.sample import sample_scheme
from pasdienst.municipalities.services import topup_budget
from pasdienst.wallet.services import block_pass, export_rows, import_children, load_scheme, reissue_pass
from tests.factories import login_as, make_municipality, make_user

from .conftest import TODAY, audit_count, last_event, pass_id_of

ON_TODAY = {"PASDIENST_TODAY": TODAY.isoformat()}
NEW_CHILD = b"child_ref;first_name;birth_date;income_pct\nT-9;Lotte;2016-04-04;100\nT-10;Bram;not a date;100\n"


def _shape(event: AuditEvent) -> tuple:
    """What an event is about and which fields it keeps, not the values."""
    keys = lambda snapshot: None if snapshot is None else sorted(snapshot)  # noqa: E731 - a one-line key function
    return event.action, event.entity_type, keys(event.before), keys(event.after)


def _as_admin(db, work):
    user = make_user(db, "admin")
    with db.transaction() as s:
        return work(s, load_actor(s, user.id))


def test_blocking_and_reissuing_a_pass_on_the_command_line_is_audited_like_the_admin_page(db, cli, world, admin_settings):
    sanne, daan = world.rows["T-1"].pass_id, world.rows["T-2"].pass_id
    cli("passes", "block", sanne, "--reason", "lost, reported by parent", env=ON_TODAY)
    blocked = last_event(db, "pass.block")
    assert (blocked.actor_email, blocked.actor_user_id) == ("cli", None)
    assert blocked.entity_id == sanne  # the pass number, its one public name
    assert blocked.before["status"] == "active"
    assert blocked.after == {**blocked.before, "status": "blocked", "block_reason": "lost, reported by parent"}

    new_number = cli("passes", "reissue", sanne, "--reason", "lost", env=ON_TODAY).output.strip().splitlines()[-1]
    reissued = last_event(db, "pass.reissue")
    assert reissued.actor_email == "cli" and reissued.entity_id == new_number and reissued.after["reason"] == "lost"
    assert reissued.before["pass"] == sanne and reissued.before["status"] == "blocked"
    assert reissued.after["replaces"] == sanne and reissued.after["generation"] == 2

    def on_the_page(s, actor):
        block_pass(s, str(pass_id_of(daan)), reason="kwijt", actor=actor)
        reissue_pass(s, str(pass_id_of(daan)), reason="lost", settings=admin_settings, today=TODAY, actor=actor)

    _as_admin(db, on_the_page)
    with db.read() as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action.in_(("pass.block", "pass.reissue")))
                           .order_by(AuditEvent.id)).scalars().all()
        by_cli = [_shape(e) for e in events if e.actor_email == "cli"]
        by_admin = [_shape(e) for e in events if e.actor_email != "cli"]
        assert len(by_cli) == 2 and by_cli == by_admin
        assert len({e.municipality_id for e in events}) == 1


def test_a_reissue_on_the_command_line_may_name_no_reason_but_other_needs_a_note(db, cli, world):
    number = world.rows["T-1"].pass_id
    refused = cli("passes", "reissue", number, "--reason", "other", env=ON_TODAY, ok=False)
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == ["error: --reason other needs a --note saying why"]
    assert audit_count(db, "pass.reissue") == 0
    cli("passes", "reissue", number, env=ON_TODAY)
    assert last_event(db, "pass.reissue").after["reason"] is None


def test_the_child_page_names_the_command_line_as_who_blocked_the_pass(client, cli, db, world):
    cli("passes", "block", world.rows["T-1"].pass_id, "--reason", "stolen", env=ON_TODAY)
    child_id = last_event(db, "pass.block").after["child_id"]
    login_as(client, "admin")
    page = client.get(f"/admin/kinderen/{child_id}").get_data(as_text=True)
    line = next(part for part in page.split("<li") if "geblokkeerd: stolen" in part)
    assert "cli" in line


def test_a_refused_command_leaves_no_audit_event(db, cli, world):
    cli("passes", "block", world.rows["T-1"].pass_id, "--reason", "lost", env=ON_TODAY)
    events = audit_count(db)
    again = cli("passes", "block", world.rows["T-1"].pass_id, "--reason", "lost twice", ok=False, env=ON_TODAY)
    assert again.exit_code == 1
    assert audit_count(db) == events


def test_a_children_import_is_audited_with_its_counts_and_a_dry_run_is_not(db, cli, world, admin_settings, tmp_path):
    file = tmp_path / "kinderen.csv"
    file.write_bytes(NEW_CHILD)
    cli("children", "import", "testdorp", str(file), "--dry-run", env=ON_TODAY)
    assert audit_count(db, "children.import") == 0

    cli("children", "import", "testdorp", str(file), env=ON_TODAY)
    event = last_event(db, "children.import")
    assert event.actor_email == "cli" and event.entity_type == "municipality"
    assert event.after == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": 1}

    _as_admin(db, lambda s, actor: import_children(s, "testdorp", NEW_CHILD, settings=admin_settings, today=TODAY,
                                                   actor=actor))
    by_admin = last_event(db, "children.import")
    assert by_admin.actor_email != "cli"
    assert _shape(by_admin) == _shape(event) and by_admin.municipality_id == event.municipality_id


def test_loading_a_scheme_is_audited_once_per_change(db, cli, tmp_path):
    make_municipality(db, "testdorp")
    file = tmp_path / "regeling.toml"
    file.write_text(sample_scheme("testdorp", 2028))
    cli("scheme", "load", str(file))
    created = last_event(db, "scheme.create")
    assert created.actor_email == "cli" and created.before is None
    assert created.after["year"] == 2028 and created.after["items"] == 4

    cli("scheme", "load", str(file))  # the same content: nothing changed, nothing to audit
    assert audit_count(db, "scheme.create") == 1 and audit_count(db, "scheme.update") == 0

    file.write_text(sample_scheme("testdorp", 2028, budgets={"sport_culture": "160.00"}))
    cli("scheme", "load", str(file))
    updated = last_event(db, "scheme.update")
    assert updated.before == {"year": 2028, "digest": created.after["digest"]}
    assert updated.after["digest"] != created.after["digest"] and updated.after["items"] == 3

    text = sample_scheme("testdorp", 2029)
    _as_admin(db, lambda s, actor: load_scheme(s, text, actor=actor))
    assert _shape(last_event(db, "scheme.create")) == _shape(created)
    assert last_event(db, "scheme.create").municipality_id == created.municipality_id


def test_a_top_up_is_audited_like_the_budget_page(db, cli):
    make_municipality(db, "testdorp")
    transfer_id = cli("budget", "topup", "testdorp", "25000.00", "--reference", "raadsbesluit 2027-14").output.strip().splitlines()[-1]
    event = last_event(db, "budget.topup")
    assert event.actor_email == "cli" and event.entity_type == "ledger_transfer" and event.entity_id == transfer_id
    assert event.after == {"amount_cents": 2_500_000, "reference": "raadsbesluit 2027-14"}

    _as_admin(db, lambda s, actor: topup_budget(s, "testdorp", 10000, reference="aanvulling", actor=actor))
    by_admin = last_event(db, "budget.topup")
    assert by_admin.actor_email != "cli"
    assert _shape(by_admin) == _shape(event) and by_admin.municipality_id == event.municipality_id


def test_exporting_the_mail_merge_file_on_the_command_line_is_audited_like_the_admin_download(
    db, cli, world, admin_settings, tmp_path,
):
    target = tmp_path / "passen.csv"
    cli("passes", "export", "testdorp", "--csv", str(target), env=ON_TODAY)
    event = last_event(db, "passes.export")
    exported = len(target.read_text(encoding="utf-8").splitlines()) - 1
    assert event.actor_email == "cli" and event.after == {"passes": exported} and exported > 0

    _as_admin(db, lambda s, actor: export_rows(s, "testdorp", settings=admin_settings, today=TODAY, actor=actor))
    by_admin = last_event(db, "passes.export")
    assert by_admin.actor_email != "cli"
    assert _shape(by_admin) == _shape(event) and by_admin.municipality_id == event.municipality_id


def test_issuing_and_closing_a_year_on_the_command_line_each_leave_one_summary_event(db, cli, tmp_path):
    cli("municipality", "add", "testdorp", "--name", "Gemeente Testdorp")
    scheme, children = tmp_path / "regeling.toml", tmp_path / "kinderen.csv"
    scheme.write_text(sample_scheme("testdorp", 2027))
    children.write_bytes(NEW_CHILD)
    cli("scheme", "load", str(scheme))
    cli("budget", "topup", "testdorp", "1000.00", "--reference", "raadsbesluit")
    cli("children", "import", "testdorp", str(children), env=ON_TODAY)

    cli("passes", "issue", "testdorp", "--year", "2027", env=ON_TODAY)
    issued = last_event(db, "passes.issue")
    assert issued.actor_email == "cli" and issued.entity_type == "municipality"
    # Lotte (10): both budgets, the punch card and the cheque.
    assert issued.after == {"year": 2027, "issued": 1, "vouchers": 4, "total_cents": 15000 + 5000 + 4500 + 7500}
    cli("passes", "issue", "testdorp", "--year", "2027", env=ON_TODAY)  # nobody new: nothing to audit
    assert audit_count(db, "passes.issue") == 1

    cli("year-end", "testdorp", "--year", "2027", env={"PASDIENST_TODAY": "2028-01-01"})
    closed = last_event(db, "year.close")
    assert closed.actor_email == "cli" and closed.municipality_id == issued.municipality_id
    assert closed.after == {"year": 2027, "passes_expired": 1, "vouchers_emptied": 4, "returned_cents": 32000}
    cli("year-end", "testdorp", "--year", "2027", env={"PASDIENST_TODAY": "2028-01-01"})
    assert audit_count(db, "year.close") == 1


def test_the_admins_audit_log_lists_the_command_lines_events(client, cli, db, world):
    cli("passes", "block", world.rows["T-1"].pass_id, "--reason", "lost", env=ON_TODAY)
    login_as(client, "admin")
    page = client.get("/admin/auditlog?actor=cli").get_data(as_text=True)
    assert "<td>Pas geblokkeerd</td>" in page and "<td>opdrachtregel</td>" in page
