"""Art. 34 naming: member numbers or a query (records in a table within dates), validated, never 'everyone'."""
from __future__ import annotations

import pytest
from sqlalchemy import column, func, select, table, text

from gdpr.breaches.targets import MemberTarget, dated_tables, read_target, resolve_numbers, target_condition
from gdpr.core.datamap import load_datamap
from gdpr.core.errors import UsageError
from tests.conftest import ROOT

DATAMAP = load_datamap(ROOT / "config" / "datamap.yaml")
PATTERN = DATAMAP.subject("member").number_pattern



def test_a_query_names_the_members_with_records_in_the_range(engine) -> None:
    tables = dated_tables(DATAMAP, engine)
    assert tables["visits"] == "checked_in_at" and "members" not in tables
    target = read_target(numbers_text="", table_name="visits", since="2025-01-01", until="2025-03-31",
                         pattern=PATTERN, tables=tables)
    with engine.connect() as conn:
        named = conn.execute(select(func.count()).select_from(table("members")).where(
            target_condition(DATAMAP, target))).scalar_one()
        expected = conn.execute(text("SELECT COUNT(DISTINCT member_id) FROM visits WHERE checked_in_at >= '2025-01-01' "
                                     "AND checked_in_at < '2025-04-01'")).scalar_one()
        everyone = conn.execute(text("SELECT COUNT(*) FROM members")).scalar_one()
    assert 0 < named == expected < everyone
    assert MemberTarget.from_json(target.to_json()) == target and "visits records dated" in target.describe()


def test_member_numbers_are_named_exactly_and_kept_as_keys(engine) -> None:
    with engine.connect() as conn:
        numbers = conn.execute(text("SELECT member_number FROM members ORDER BY id LIMIT 3")).scalars().all()
    pasted = read_target(numbers_text=", ".join(n.lower() for n in numbers) + "\n" + numbers[0] + " M9999999",
                         table_name=None, since=None, until=None, pattern=PATTERN, tables={})
    with pytest.raises(ValueError):
        pasted.to_json()  # numbers are never kept
    target = MemberTarget.from_json(resolve_numbers(engine, DATAMAP, pasted).to_json())
    with engine.connect() as conn:
        got = conn.execute(select(column("member_number")).select_from(table("members")).where(
            target_condition(DATAMAP, target))).scalars().all()
    assert sorted(got) == sorted(numbers)
    assert target.describe() == "4 member number(s) named by the DPO (3 member(s) found)"
    assert not {n.lower() for n in numbers} & {str(v).lower() for v in target.to_json().values()}
    assert "M0" not in str(target.to_json())


@pytest.mark.parametrize("numbers, tbl, since, until, says", [
    ("", None, None, None, "Name the members"),
    ("M0000001 jan@example.com", None, None, None, "1 entry is not a member number"),
    ("M0000001", "visits", "2025-01-01", "2025-02-01", "one way"),
    ("", "staff", "2025-01-01", "2025-02-01", "not a table"),
    ("", "visits", "2025-03-01", "2025-02-01", "start first"),
])
def test_bad_naming_is_refused_without_echoing_it(numbers: str, tbl, since, until, says: str) -> None:
    with pytest.raises(UsageError) as err:
        read_target(numbers_text=numbers, table_name=tbl, since=since, until=until, pattern=PATTERN,
                    tables={"visits": "checked_in_at"})
    assert says in str(err.value) and "jan@" not in str(err.value)
