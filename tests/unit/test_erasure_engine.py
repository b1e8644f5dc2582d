"""The erasure engine: set-based (a handful of statements per table), all-or-nothing, idempotent."""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from gdpr.core.datamap import load_datamap
from gdpr.erasure.engine import ErasureEngine
from tests.conftest import ROOT
from tests.e2e.test_erasure import rich_member


def test_a_handful_of_statements_per_table_whatever_the_row_count(engine) -> None:
    datamap = load_datamap(ROOT / "config" / "datamap.yaml")
    erasure = ErasureEngine(engine, datamap)
    member = rich_member(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT COUNT(*) FROM visits WHERE member_id = :m"), {"m": member["id"]}).scalar()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2].split()[0].upper()))
    report = erasure.erase(kind="member", key=str(member["id"]))
    writes = [s for s in statements if s in ("UPDATE", "DELETE")]
    tables = len(datamap.tables_for("member"))
    held = len([t for t in datamap.tables_for("member") if t.erasure.hold])  # their held rows: one more statement
    coarsened = len([t for t in datamap.tables_for("member") if t.anonymity])  # one more while k < min_k
    assert report.counts["visits"]["erased"] == rows and report.rows > tables
    assert len(writes) <= tables + held + coarsened  # a fixed number per table (PostgreSQL: one), never one per row
    assert len([s for s in statements if s in ("SELECT", "UPDATE", "DELETE", "INSERT")]) <= 3 * tables
    statements.clear()
    again = erasure.erase(kind="member", key=str(member["id"]))
    assert again.already_erased and not [s for s in statements if s in ("UPDATE", "DELETE")]


def test_all_or_nothing(engine) -> None:
    datamap = load_datamap(ROOT / "config" / "datamap.yaml")
    erasure = ErasureEngine(engine, datamap)
    member = rich_member(engine)

    def fail_on_staff_notes(conn, cursor, statement, *args):
        if "DELETE FROM staff_notes" in statement:
            raise RuntimeError("connection lost")
    event.listen(engine, "before_cursor_execute", fail_on_staff_notes)
    with pytest.raises(RuntimeError):
        erasure.erase(kind="member", key=str(member["id"]))
    event.remove(engine, "before_cursor_execute", fail_on_staff_notes)
    with engine.connect() as conn:  # tables erased before the failure were rolled back too
        assert conn.execute(text("SELECT email FROM members WHERE id = :m"), {"m": member["id"]}).scalar() == member["email"]
        assert conn.execute(text("SELECT COUNT(*) FROM visits WHERE member_id = :m"), {"m": member["id"]}).scalar() > 0
    assert not erasure.is_erased(kind="member", key=str(member["id"]))


def test_a_table_whose_rows_keep_every_column_is_previewed_as_kept_not_anonymised(engine, tmp_path) -> None:
    """Issue 23, defect 8: a preview said rows were anonymised where nothing in them changes."""
    import dataclasses

    from bot.render import preview_blocks
    from gdpr.core import models as m
    datamap = load_datamap(ROOT / "config" / "datamap.yaml")
    accounts = datamap.tables["bank_accounts"]
    kept = dataclasses.replace(accounts, columns={c: dataclasses.replace(r, erasure="keep")
                                                  for c, r in accounts.columns.items()})
    datamap = dataclasses.replace(datamap, tables={**datamap.tables, "bank_accounts": kept})
    member = rich_member(engine)
    plan = ErasureEngine(engine, datamap).plan(kind="member", key=str(member["id"]), only=["bank_accounts"])
    (table_plan,) = plan.tables
    assert table_plan.action == "keep" and table_plan.rows >= 1
    shown = str(preview_blocks(m.SubjectRequest(kind="erase", preview=plan.summary())))
    assert "bank_accounts`: " in shown and "kept as they are" in shown and "anonymised" not in shown


def test_the_preview_of_a_consent_hold_counts_from_today_for_an_agreement_still_in_force(engine) -> None:
    """Issue 23, defect 8: an agreement still in force is withdrawn by the erasure today, so its proof is kept
    three years from today; the dry run counted from the latest earlier withdrawal (2028 here, not 2029)."""
    import datetime as dt

    from sqlalchemy import text as sql
    today = dt.date(2026, 11, 27)
    with engine.begin() as conn:
        mid = conn.execute(sql("SELECT id FROM members ORDER BY id LIMIT 1")).scalar()
        conn.execute(sql("DELETE FROM consents WHERE member_id = :m"), {"m": mid})
        for i, withdrawn in ((8_000_001, dt.datetime(2025, 6, 1)), (8_000_002, None)):  # one withdrawn, one in force
            conn.execute(sql("INSERT INTO consents (id, member_id, agreement_type_id, version, channel, granted_at, "
                             "withdrawn_at) VALUES (:i, :m, 2, 1, 'web', :g, :w)"),
                         {"i": i, "m": mid, "g": dt.datetime(2020, 1, 1), "w": withdrawn})
    plan = ErasureEngine(engine, load_datamap(ROOT / "config" / "datamap.yaml"), lambda: today).plan(
        kind="member", key=str(mid), only=["consents"])
    (consents,) = plan.tables
    assert consents.held >= 1 and consents.hold_until == dt.date(2029, 11, 27)  # from today, not an older withdrawal
