"""What erasure leaves behind cannot single the person out or link back to them (WP29 05/2014)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from gdpr.datamap import load_datamap
from gdpr.erasure import ErasureEngine
from tests.conftest import ROOT
from tests.e2e.test_erasure import rich_member

TODAY = dt.date(2026, 11, 27)



def _day(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])


def test_erased_member_row_says_erased_and_keeps_months_only(engine) -> None:
    member = rich_member(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE members SET guardian_member_id = 1, ended_on = :e WHERE id = :i"),
                     {"i": member["id"], "e": dt.date(2025, 3, 17)})
    ErasureEngine(engine, load_datamap(ROOT / "config" / "datamap.yaml"), today=lambda: TODAY).erase(
        kind="member", key=str(member["id"]))
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, joined_on, ended_on, created_at, guardian_member_id FROM members "
                                "WHERE id = :i"), {"i": member["id"]}).mappings().one()
        lead = conn.execute(text("SELECT created_at FROM crm_leads WHERE id = :l"), {"l": member["lead_id"]}).scalar()
    assert row["status"] == "erased" and row["guardian_member_id"] is None
    joined = _day(member["joined_on"])
    assert _day(row["joined_on"]) == joined.replace(day=1) and _day(row["ended_on"]) == dt.date(2025, 3, 1)
    created = _day(row["created_at"])
    assert created == _day(member["created_at"]).replace(day=1)
    assert str(row["created_at"])[11:19] in ("", "00:00:00")  # no time of day left
    assert _day(lead).day == 1


def test_held_invoices_keep_only_what_tax_law_needs(engine) -> None:
    member = rich_member(engine)
    held = "SELECT id, invoice_number, issued_on, total, buyer_name, buyer_address FROM invoices " \
           "WHERE member_id = :m AND issued_on > :c ORDER BY id"
    args = {"m": member["id"], "c": dt.date(2019, 11, 27)}
    with engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(text(held), args)]
    report = ErasureEngine(engine, load_datamap(ROOT / "config" / "datamap.yaml"), today=lambda: TODAY).erase(
        kind="member", key=str(member["id"]))
    with engine.connect() as conn:
        after = [tuple(r) for r in conn.execute(text(held), args)]
    assert before and [r[:4] for r in after] == [r[:4] for r in before]  # number, date, total as they were
    assert {r[4:] for r in after} == {("Anonymised member", None)}
    assert report.counts["invoices"]["held"] == report.counts["invoices"]["held_reduced"] == len(before)
