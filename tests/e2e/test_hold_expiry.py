"""Rows kept under a legal hold at erasure are released when the hold ends: the hold-expiry policies
run on the scheduler (dry run, DPO approval, batches) on a controllable clock, on both backends."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from bootstrap.runtime import housekeeping_pass
from devslack.driver import wait_for
from gdpr.core import models as m
from tests.conftest import ROOT
from tests.e2e.test_erasure import rich_member
from tests.helpers import DPO, block_texts, config_copy

UTC = dt.UTC


@pytest.fixture
def system_config(tmp_path: Path) -> Path:
    """The shipped hold-expiry policies alone, so the cards on the clock are theirs."""
    shipped = yaml.safe_load((ROOT / "config" / "retention.yaml").read_text())["policies"]
    return config_copy(ROOT / "config", tmp_path / "config",
                       retention={"policies": {k: shipped[k] for k in ("ended-contract-hold", "ended-consent-hold")}})


def _arrange(gym) -> dict:
    member = rich_member(gym)
    with gym.begin() as conn:
        conn.execute(text("DELETE FROM contracts WHERE member_id = :m"), {"m": member["id"]})
        for cid, ends in ((6_000_001, dt.date(2021, 6, 30)), (6_000_002, dt.date(2019, 1, 31))):
            conn.execute(text("INSERT INTO contracts (id, member_id, club_id, plan, starts_on, ends_on, monthly_fee) "
                              "VALUES (:i, :m, 1, 'basic', :s, :e, 30)"),
                         {"i": cid, "m": member["id"], "s": dt.date(2018, 1, 1), "e": ends})
        conn.execute(text("INSERT INTO consents (id, member_id, lead_id, agreement_type_id, version, channel, granted_at, "
                          "withdrawn_at) VALUES (6000001, :m, NULL, 1, 1, 'app', :g, :w)"),
                     {"m": member["id"], "g": dt.datetime(2019, 2, 1), "w": dt.datetime(2025, 2, 1)})
    return member


def _latest(system, policy: str) -> m.BulkRun:
    """The policy's newest run, approved by the DPO on its card when it waits for approval; once done."""
    run = [r for r in _runs(system) if r.policy == policy][-1]
    if run.status == m.AWAITING_APPROVAL:
        card = wait_for(lambda: next((c for c in system.standin.channel(system.services.policy.channel("approvals"))
                                      if c.get("blocks") and f"P-{run.id}" in block_texts(c)), None),
                        timeout=30, what="the run's card")
        assert "released from their ended legal hold" in block_texts(card)  # the dry run says what will happen
        system.slack.click(DPO, "bulk.approve", str(run.id), card["channel"], card["ts"])
    return wait_for(lambda: (r := system.services.runs.get(run.id)).status in (m.DONE, m.FAILED) and r, timeout=90,
                    what=f"P-{run.id} done")


def _runs(system) -> list[m.BulkRun]:
    with system.services.db.session() as s:
        runs = list(s.query(m.BulkRun).order_by(m.BulkRun.id))
        s.expunge_all()
        return runs


def _left(gym, member: dict) -> tuple[list, list]:
    with gym.connect() as conn:
        # held rows are cut from the erased member: found by their ids
        contracts = conn.execute(text("SELECT id FROM contracts WHERE member_id = :m OR id IN (6000001, 6000002) "
                                      "ORDER BY id"), {"m": member["id"]}).scalars().all()
        consents = conn.execute(text("SELECT id FROM consents WHERE (member_id = :m OR lead_id = :l OR id = 6000001) "
                                     "ORDER BY id"), {"m": member["id"], "l": member["lead_id"]}).scalars().all()
    return contracts, consents


def test_held_rows_of_an_erased_member_go_when_their_hold_ends(system, gym) -> None:
    member = _arrange(gym)
    assert system.services.erasure.erase(kind="member", key=str(member["id"])).rows > 0
    contracts, consents = _left(gym, member)
    assert contracts == [6_000_001] and 6_000_001 in consents  # held: the 2019 contract went at once
    with gym.connect() as conn:  # and what is held points at nobody
        linked = [conn.execute(text(f"SELECT COUNT(*) FROM {t} WHERE member_id = :m"), {"m": member["id"]}).scalar()
                  for t in ("contracts", "consents", "invoices", "payments")]
    assert linked == [0, 0, 0, 0]
    assert system.services.erasure.erase(kind="member", key=str(member["id"])).already_erased  # the old dead end

    housekeeping_pass(system.services, owner="clock", now=dt.datetime(2026, 11, 27, 12, tzinfo=UTC))  # first sight
    housekeeping_pass(system.services, owner="clock", now=dt.datetime(2027, 12, 2, 6, tzinfo=UTC))  # both still held
    assert _latest(system, "ended-contract-hold").total == 0 and _left(gym, member)[0] == [6_000_001]

    housekeeping_pass(system.services, owner="clock", now=dt.datetime(2028, 7, 2, 6, tzinfo=UTC))
    contract_run, consent_run = _latest(system, "ended-contract-hold"), _latest(system, "ended-consent-hold")
    contracts, consents = _left(gym, member)
    assert contract_run.total == contract_run.done == 1 and contract_run.residue == 0 and contracts == []
    assert consent_run.status == m.DONE, (consent_run.error, consent_run.counts)
    assert 6_000_001 not in consents and consent_run.done >= 1 and consent_run.residue == 0
    with gym.connect() as conn:  # another member's contracts under the same dates stay: only erased subjects
        others = conn.execute(text("SELECT COUNT(*) FROM contracts WHERE member_id <> :m AND ends_on < '2021-07-01'"),
                              {"m": member["id"]}).scalar()
    assert others > 0

