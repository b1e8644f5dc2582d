"""Anonymous in fact: 150 of 3,000 seeded members erased (one at a time, and a bulk run's batch), then k
counted over what each anonymised row keeps against the whole table (tests/kanon.py, not the product's
code); held rows cannot be joined back to the emptied rows; on SQLite and PostgreSQL."""
from __future__ import annotations

import random
import secrets
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from gdpr.core.datamap import load_datamap
from gdpr.core.db import make_engine
from gdpr.erasure.engine import ErasureEngine
from gym.seed import seed
from tests.conftest import ROOT, _pg_admin, _pg_url, drop_later
from tests.kanon import k_per_erased_member

MEMBERS, ERASED, BATCH = 3000, 150, 30


@pytest.fixture(params=["sqlite", "postgresql"])
def big_gym(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        url, name = f"sqlite:///{tmp_path / 'gym3000.sqlite3'}", None
    else:
        name = f"gdpr_k_{secrets.token_hex(4)}"
        _pg_admin(f"CREATE DATABASE {name}")
        url = _pg_url(name)
    engine = make_engine(url, immediate=False)
    seed(engine, members=MEMBERS, seed_value=23)
    yield engine
    engine.dispose()
    if name:
        drop_later(name)


def test_every_anonymised_row_reaches_min_k_and_held_rows_point_at_nobody(big_gym) -> None:
    erasure = ErasureEngine(big_gym, load_datamap(ROOT / "config" / "datamap.yaml"))
    with big_gym.connect() as conn:
        ids = conn.execute(text("SELECT id FROM members ORDER BY id")).scalars().all()
        linked_before = conn.execute(text("SELECT COUNT(*) FROM contracts")).scalar()
    chosen = random.Random(5).sample(list(ids), ERASED)
    single, batch = chosen[:-BATCH], chosen[-BATCH:]

    reported = [erasure.erase(kind="member", key=str(i)).counts["members"]["k"] for i in single]
    with big_gym.begin() as conn:  # a bulk run's batch: many subjects in one transaction
        reported.append(erasure.erase_batch(conn, kind="member", keys=batch)["members"]["k"])

    measured = k_per_erased_member(big_gym)
    assert sorted(measured) == sorted(chosen)
    assert min(measured.values()) >= 10, Counter(v for v in measured.values() if v < 10)
    assert min(reported) >= 10  # what the erasure reported is what an outside count finds, or less
    assert all(measured[i] >= k for i, k in zip(single, reported[:-1], strict=True))  # the last: the batch

    with big_gym.connect() as conn:
        erased = ",".join(map(str, chosen))  # ids we chose: integers
        for table in ("contracts", "invoices", "payments", "consents", "pos_sales"):  # nothing joins back
            keyed = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE member_id IN ({erased})")).scalar()
            assert keyed == 0, table
        held = conn.execute(text("SELECT starts_on FROM contracts WHERE member_id IS NULL")).scalars().all()
        leads = conn.execute(text(f"SELECT COUNT(*) FROM crm_leads WHERE converted_member_id IN ({erased}) "
                                  "AND email IS NOT NULL")).scalar()
        left = conn.execute(text("SELECT COUNT(*) FROM contracts")).scalar()
    assert held and all(str(day)[8:10] == "01" for day in held)  # no exact start (it was the join date)
    assert leads == 0 and left < linked_before
