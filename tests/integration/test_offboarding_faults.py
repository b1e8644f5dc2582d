"""Offboarding a club of 20,000 members on PostgreSQL + Redis with real worker processes, the worker killed
with SIGKILL half way: the run resumes from its checkpoint and completes exactly once."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import text

from devslack.driver import wait_for
from gdpr.clubs.offboarding import SIGNING_PURPOSE
from gdpr.core import models as m
from gdpr.core.crypto import verify_document
from gym.seed import add_club
from tests.conftest import ROOT, make_system
from tests.e2e.test_offboarding import ADMIN, alone_leads, club_identifiers, club_rows, values_found
from tests.helpers import DPO, bulk_card, config_copy
from tests.recipients import RecipientServer, config_with_recipients

MEMBERS = 20_000
CLUB = "big-club"


def _scalar(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), {"c": CLUB}).scalar_one()


@pytest.mark.slow
def test_offboarding_20k_members_survives_kill_9_half_way_and_completes_once(pg_url, redis_url, standin,
                                                                             tmp_path: Path) -> None:
    retention = config_copy(ROOT / "config", tmp_path / "retention", retention={"settings": {"batch_size": 500,
                                                                                             "pause_ms": 20}})
    servers = {p: RecipientServer() for p in ("virtuagym", "milon", "clubplanner", "technogym")}
    config = config_with_recipients(retention, tmp_path / "config", servers)  # the statement waits for them
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3, config_dir=config)
    try:
        gym = bot.services.system.engine
        add_club(gym, code=CLUB, members=MEMBERS)
        with gym.begin() as conn:  # a few hundred recipients' notices: the statement waits for them (tested), and
            conn.execute(text("DELETE FROM integration_links WHERE id % 20 <> 0 AND member_id IN "  # their pace
                              "(SELECT id FROM members WHERE club_id = (SELECT id FROM clubs WHERE code = :c))"),
                         {"c": CLUB})  # is not what this test is about (a benchmark's)
        leads = alone_leads(gym, CLUB)  # a lead who became one of its members is that member
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
        wait_for(lambda: bot.services.runs.get(run_id).done >= total // 2, timeout=480, what="half the offboarding")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        half = bot.services.runs.get(run_id)
        assert half.status == m.RUNNING and 0 < half.done < total and half.artifacts["returned"]

        bot.start_worker()
        bot.spawn("-m", "bootstrap.cli", "scheduler", log_name="scheduler", RECONCILE_INTERVAL_SECONDS="2")
        run = wait_for(lambda: (r := bot.services.runs.get(run_id)).status in (m.DONE, m.FAILED) and r,
                       timeout=600, what="the resumed offboarding")
        assert run.status == m.DONE and run.attempts == 2, run.error
        assert run.done == run.total == total and run.residue == 0
        assert run.counts["members"]["delete"] == MEMBERS and run.counts["crm_leads"]["delete"] >= leads

        # exactly once: one archive returned (before the kill), one statement once the notices settled
        files = wait_for(lambda: len(f := [f for msg in bot.standin.thread(card["channel"], card["ts"])
                                           for f in msg.get("files", [])]) >= 2 and f, timeout=420,
                         what="the statement, once every notice settled")
        assert [f["name"] for f in files] == [f"club-return-P{run_id}.zip", f"offboarding-statement-P{run_id}.json"]
        statement = json.loads(Path(files[1]["path"]).read_text())
        assert verify_document(statement, bot.services.ring.public_keys(SIGNING_PURPOSE)) and statement["statement"]["subjects"]["processed"] == total
        told = statement["statement"]["recipients_told"]
        # delivery across a kill -9 is at least once: a notice POSTed, then the worker killed before the outbox
        # booked it, is POSTed again with the same Idempotency-Key, on which the recipient dedupes
        deliveries = [r for s in servers.values() for r in s.received]
        assert all(r["key"] for r in deliveries)
        keys = {(s.url, r["key"]) for s in servers.values() for r in s.received}
        notices: dict[tuple, dict] = {}
        for s in servers.values():
            for r in s.received:  # a repeated key carries the same notice (only the time it was sent differs)
                notice = {k: v for k, v in r["body"].items() if k != "requested_at"}
                assert notices.setdefault((s.url, r["key"]), notice) == notice
        assert set(told) == {"sent"} and told["sent"] == len(keys)
        assert len(deliveries) - len(keys) <= 4  # at most one in flight per worker thread when it was killed
        assert statement["statement"]["data_returned"]["rows"]["member/members"] == MEMBERS

        # a whole-database search finds none of the club's identifiers, and no row of the club is left
        assert values_found(gym, identifiers) == set()
        assert set(club_rows(gym, CLUB).values()) == {0}
        assert _scalar(gym, "SELECT COUNT(*) FROM members WHERE email IS NOT NULL AND club_id <> "
                            "(SELECT id FROM clubs WHERE code = :c)") == others
        assert not list((tmp_path / "exports").glob("club-return-*"))  # no club archive left on the worker's disk
    finally:
        bot.stop()
        for server in servers.values():
            server.stop()
