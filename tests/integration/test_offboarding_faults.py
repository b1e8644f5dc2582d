"""Offboarding a club of 20,000 members on PostgreSQL + Redis with real worker processes, the worker killed
with SIGKILL half way: the run resumes from its checkpoint and completes exactly once."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from sqlalchemy import text

from devslack.driver import wait_for
from gdpr import models as m
from gdpr.crypto import verify_document
from gym.seed import add_club
from tests.conftest import ROOT, make_system
from tests.e2e.test_offboarding import ADMIN, club_identifiers, values_found
from tests.helpers import DPO, bulk_card, config_copy

MEMBERS = 20_000
CLUB = "big-club"
HELD = {"contracts": "ends_on >= CURRENT_DATE - 7 * 365 OR ends_on IS NULL",
        "payments": "paid_at >= CURRENT_DATE - 7 * 365", "consents": "true"}


def _scalar(engine, sql: str) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text(sql), {"c": CLUB}).scalar_one()


def test_offboarding_20k_members_survives_kill_9_half_way_and_completes_once(pg_url, redis_url, standin,
                                                                             tmp_path: Path) -> None:
    config = config_copy(ROOT / "config", tmp_path / "config", retention={"settings": {"batch_size": 500,
                                                                                       "pause_ms": 20}})
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3, config_dir=config)
    try:
        gym = bot.services.system.engine
        add_club(gym, code=CLUB, members=MEMBERS)
        leads = _scalar(gym, "SELECT COUNT(*) FROM crm_leads WHERE club_id = (SELECT id FROM clubs WHERE code = :c)")
        others = _scalar(gym, "SELECT COUNT(*) FROM members WHERE email IS NOT NULL AND club_id <> "
                              "(SELECT id FROM clubs WHERE code = :c)")
        identifiers = club_identifiers(gym, CLUB) - club_identifiers(gym, CLUB, others=True)
        assert len(identifiers) > 3 * MEMBERS

        first = bot.start_worker()
        bot.slack.command(ADMIN, f"club offboard {CLUB}")
        card = bulk_card(bot)
        run_id = int(card["blocks"][-1]["elements"][0]["value"])
        bot.slack.click(DPO, "bulk.approve", str(run_id), card["channel"], card["ts"])
        total = MEMBERS + leads
        wait_for(lambda: bot.services.runs.get(run_id).done >= total // 2, timeout=240, what="half the offboarding")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        half = bot.services.runs.get(run_id)
        assert half.status == m.RUNNING and 0 < half.done < total and half.artifacts["returned"]

        bot.start_worker()
        bot.spawn("-m", "bootstrap.cli", "scheduler", log_name="scheduler", RECONCILE_INTERVAL_SECONDS="2")
        run = wait_for(lambda: (r := bot.services.runs.get(run_id)).status in (m.DONE, m.FAILED) and r,
                       timeout=300, what="the resumed offboarding")
        assert run.status == m.DONE and run.attempts == 2, run.error
        assert run.done == run.total == total and run.residue == 0
        assert run.counts["members"]["update"] == MEMBERS and run.counts["crm_leads"]["update"] >= leads

        # exactly once: one archive returned (before the kill), one statement, and it verifies
        thread = bot.standin.thread(card["channel"], card["ts"])
        files = [f for msg in thread for f in msg.get("files", [])]
        assert [f["name"] for f in files] == [f"club-return-P{run_id}.zip", f"offboarding-statement-P{run_id}.json"]
        statement = json.loads(Path(files[1]["path"]).read_text())
        assert verify_document(statement) and statement["statement"]["subjects"]["processed"] == total
        assert statement["statement"]["data_returned"]["rows"]["member/members"] == MEMBERS

        # a whole-database search finds none of the club's identifiers outside the rows a legal hold keeps
        assert values_found(gym, identifiers, skip=HELD) == set()
        assert _scalar(gym, "SELECT COUNT(*) FROM members WHERE email IS NOT NULL AND club_id <> "
                            "(SELECT id FROM clubs WHERE code = :c)") == others
        assert not list((tmp_path / "exports").glob("club-return-*"))  # no club archive left on the worker's disk
    finally:
        bot.stop()
