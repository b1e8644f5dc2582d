"""One four-eyes approval engine for requests and bulk runs: one decision wins, the loser hears the truth."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from gdpr.bulk.runs import RUNS
from gdpr.core import models as m
from gdpr.core.access import load_policy
from gdpr.core.audit import AuditLog, verify_chain
from gdpr.core.db import Database
from gdpr.core.errors import AlreadyDecided, NotAllowed
from gdpr.core.migrate import upgrade_database
from gdpr.lifecycle.approval import Approvals
from gdpr.requests.service import REQUESTS, utcnow
from tests.conftest import ROOT
from tests.helpers import DPO, SUPPORT

KEY = b"k" * 32
ROWS = {
    "request": "INSERT INTO subject_requests (id, kind, status, subject_type, subject_key, subject_ref, requester_id, "
               "received_at, due_on, attempts) VALUES (1, 'access', 'awaiting_approval', 'member', '7', "
               "'ref-7', 'U0SUPPORT1', '2026-11-27 10:00:00', '2026-12-27', 0)",
    "bulk": "INSERT INTO bulk_runs (id, source, policy, spec, as_of, status, requester_id, created_at, total, done, "
            "attempts) VALUES (1, 'crm_purge', 'crm-purge', '{}', '2026-11-27 10:00:00', 'awaiting_approval', "
            "'U0SUPPORT1', '2026-11-27 10:00:00', 5, 0, 0)",
}


@pytest.fixture
def state(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    upgrade_database(db)
    yield db
    db.dispose()


@pytest.mark.parametrize("name, kind", [("request", REQUESTS), ("bulk", RUNS)])
def test_the_losing_decision_is_told_the_state_the_item_is_in_now(state: Database, name: str, kind) -> None:
    with state.session() as s:
        s.execute(text(ROWS[name]))
    approvals, policy = Approvals(state, AuditLog(KEY), utcnow), load_policy(ROOT / "config" / "roles.yaml")
    dpo = policy.actor(DPO, frozenset({"S0DPOTEAM"}))
    with state.session() as s:
        stale = s.get(kind.model, 1)  # read by a click that will lose the race
        s.expunge(stale)
    with pytest.raises(NotAllowed, match="four-eyes"):
        approvals.decide(kind, stale, policy.actor(SUPPORT), m.APPROVED, None)
    approvals.decide(kind, stale, dpo, m.REJECTED, "Not this club's member")  # the winning click
    with pytest.raises(AlreadyDecided, match=rf"{kind.ref}1 was already decided \(rejected\)"):
        approvals.decide(kind, stale, dpo, m.APPROVED, None)  # its copy still says 'awaiting approval'
    with state.session() as s:
        actions = list(s.execute(text("SELECT action FROM audit_events ORDER BY seq")).scalars())
        assert verify_chain(s, [KEY]).ok
    assert actions == ["access.denied", f"{kind.event}.rejected"]
