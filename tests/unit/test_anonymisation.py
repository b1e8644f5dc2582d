"""What erasure leaves behind cannot single the person out or link back to them (WP29 05/2014)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, text

from gdpr.core.datamap import load_datamap
from gdpr.erasure.anonymity import _norm
from gdpr.erasure.engine import ErasureEngine
from tests.conftest import ROOT
from tests.e2e.test_erasure import rich_member
from tests.kanon import k_per_erased_member

TODAY = dt.date(2026, 11, 27)



def _day(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])


def _erase(engine, member_id: int):
    return ErasureEngine(engine, load_datamap(ROOT / "config" / "datamap.yaml"), today=lambda: TODAY).erase(
        kind="member", key=str(member_id))


def test_erased_member_row_says_erased_keeps_no_time_and_reaches_min_k(engine) -> None:
    member = rich_member(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE members SET guardian_member_id = 1, ended_on = :e WHERE id = :i"),
                     {"i": member["id"], "e": dt.date(2025, 3, 17)})
    report = _erase(engine, member["id"])
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, joined_on, ended_on, created_at, guardian_member_id, postcode "
                                "FROM members WHERE id = :i"), {"i": member["id"]}).mappings().one()
        lead = conn.execute(text("SELECT created_at FROM crm_leads WHERE id = :l"), {"l": member["lead_id"]}).scalar()
    assert row["status"] == "erased" and row["guardian_member_id"] is None
    assert _day(row["joined_on"]).day == 1 and str(row["created_at"])[11:19] in ("", "00:00:00")  # no day, no time
    assert _day(lead).day == 1
    # 150 members in 5 clubs: the month of joining and the postcode region would leave this row alone
    # in its club, so the erasure coarsened it until ten rows share what it keeps (and says so)
    measured = k_per_erased_member(engine)[member["id"]]
    assert measured >= 10 and report.counts["members"]["k"] == measured
    assert row["postcode"] is None


def test_a_crowd_keeps_the_month(engine) -> None:
    """Coarsening goes only as far as k needs: among twelve members of one club who joined the same month,
    born the same year, in one postcode region, the erased one keeps its month and region."""
    member = rich_member(engine)
    with engine.begin() as conn:
        base = conn.execute(text("SELECT club_id, birth_date, postcode, joined_on, ended_on, created_at FROM members "
                                 "WHERE id = :i"), {"i": member["id"]}).mappings().one()
        conn.execute(text("UPDATE members SET club_id = :club_id, birth_date = :birth_date, postcode = :postcode, "
                          "joined_on = :joined_on, ended_on = :ended_on, created_at = :created_at WHERE id IN "
                          "(SELECT id FROM members WHERE id <> :i ORDER BY id LIMIT 11)"), {**base, "i": member["id"]})
    report = _erase(engine, member["id"])
    with engine.connect() as conn:
        row = conn.execute(text("SELECT joined_on, postcode FROM members WHERE id = :i"),
                           {"i": member["id"]}).mappings().one()
    assert _day(row["joined_on"]) == _day(base["joined_on"]).replace(day=1)
    assert row["postcode"] == str(base["postcode"])[:2]
    assert report.counts["members"]["k"] == k_per_erased_member(engine)[member["id"]] >= 12


def test_held_contracts_keep_what_a_claim_needs_cut_from_the_member(engine) -> None:
    member = rich_member(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE contracts SET ends_on = :e WHERE member_id = :m"),
                     {"m": member["id"], "e": dt.date(2025, 6, 30)})
        before = [tuple(r) for r in conn.execute(text(
            "SELECT id, plan, starts_on, ends_on, monthly_fee FROM contracts WHERE member_id = :m ORDER BY id"),
            {"m": member["id"]})]
    _erase(engine, member["id"])
    with engine.connect() as conn:
        after = [tuple(r) for r in conn.execute(text(
            "SELECT id, plan, starts_on, ends_on, monthly_fee, member_id FROM contracts WHERE id IN :ids ORDER BY id")
            .bindparams(bindparam("ids", expanding=True)), {"ids": [r[0] for r in before]})]
    assert before and len(after) == len(before)
    for (cid, plan, starts, ends, fee), kept in zip(before, after, strict=True):
        assert kept == (cid, plan, kept[2], kept[3], fee, None)  # plan and fee kept; nothing points at the member
        assert _day(kept[2]) == _day(starts).replace(day=1) and _day(kept[3]) == _day(ends)  # the hold runs from the end


def test_held_invoices_keep_only_what_tax_law_needs(engine) -> None:
    member = rich_member(engine)
    held = "SELECT id, invoice_number, issued_on, total, buyer_name, buyer_address, member_id FROM invoices " \
           "WHERE {} AND issued_on > :c ORDER BY id"
    args = {"m": member["id"], "c": dt.date(2019, 11, 27)}
    with engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(text(held.format("member_id = :m")), args)]
        args["ids"] = [r[0] for r in before]
    report = _erase(engine, member["id"])
    with engine.connect() as conn:
        after = [tuple(r) for r in conn.execute(text(held.format("id IN :ids")).bindparams(
            bindparam("ids", expanding=True)), args)]
        linked = conn.execute(text("SELECT COUNT(*) FROM invoices WHERE member_id = :m"), args).scalar()
    assert before and [r[:4] for r in after] == [r[:4] for r in before]  # number, date, total as they were
    assert {r[4:] for r in after} == {("Anonymised member", None, None)}  # and keyed to nobody
    assert linked == 0  # the old ones (past their hold) too
    assert report.counts["invoices"]["held"] == report.counts["invoices"]["held_reduced"] == len(before)


def test_the_database_counts_live_rows_as_the_python_definition_does(engine) -> None:
    """The erasure counts compatible live rows in SQL (`count_live`); `measure` and the tests read them
    into Python (`coarsen`). For every level an erased row can keep - each step of the ladder, dates
    kept as days, months, years and decades, prefixes, exact values - both give the same count."""
    erasure = ErasureEngine(engine, load_datamap(ROOT / "config" / "datamap.yaml"), today=lambda: TODAY)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM members ORDER BY id")).scalars().all()
    for member_id in ids[3:60:7]:
        erasure.erase(kind="member", key=str(member_id))
    check = erasure.anonymity("members")
    assert check is not None
    compared = nonzero = 0
    with engine.connect() as conn:
        rows = {r[0]: tuple(r[1:]) for r in conn.execute(text(
            f"SELECT id, {', '.join(check.spec.quasi)} FROM members ORDER BY id"))}
        parts = check.partitions(conn, sorted({r[0] for r in rows.values()}))
        for group, part in parts.items():
            wanted = sorted({part.signature(check._at(tuple(_norm(v) for v in values), step))
                             for row_id, values in rows.items() if values[0] == group and row_id in ids[:90]
                             for step in range(len(check.spec.steps) + 1)}, key=repr)
            counted = check.count_live(conn, group, wanted, list(part.anonymised.values()), chunk=7)
            python = {sig: part._live_counts(sig[0])[sig[1]] for sig in wanted}
            assert counted == python
            compared, nonzero = compared + len(wanted), nonzero + sum(1 for c in python.values() if c)
    assert compared > 100 and nonzero > 50  # enough signatures, and most of them matching someone  # enough signatures, and not all of them empty
