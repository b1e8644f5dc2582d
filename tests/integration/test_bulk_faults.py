"""Bulk runs under faults, on PostgreSQL + Redis with real worker processes: kill -9 half way through
a purge of 100,000 leads, the connection cut while a batch commits (one database, and two)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from devslack.driver import wait_for
from gdpr.core import models as m
from gym.seed import add_rejected_leads
from tests.conftest import ROOT, make_system
from tests.helpers import (
    DPO,
    SUPPORT,
    block_texts,
    bulk_card,
    config_copy,
    cutoff_sql,
    lead_identifiers,
    text_values_containing,
)

LEADS = 100_000


def _start_purge(bot) -> tuple[int, dict]:
    bot.slack.command(SUPPORT, "crm purge --status rejection --older-than 30d")
    card = bulk_card(bot)
    run_id = int(card["blocks"][-1]["elements"][0]["value"])
    bot.slack.click(DPO, "bulk.approve", str(run_id), card["channel"], card["ts"])
    return run_id, card


def _scalar(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


@pytest.mark.slow
def test_purge_of_100k_leads_survives_kill_9_half_way_with_exact_counts(pg_url, redis_url, standin,
                                                                         tmp_path: Path) -> None:
    config = config_copy(ROOT / "config", tmp_path / "config", retention={"settings": {"batch_size": 1000,
                                                                                       "pause_ms": 40}})
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3, config_dir=config)
    try:
        gym = bot.services.system.engine
        add_rejected_leads(gym, leads=LEADS)
        where = f"status = 'rejection' AND status_changed_at < '{cutoff_sql(30)}'"
        expected = _scalar(gym, f"SELECT COUNT(*) FROM crm_leads WHERE {where}")
        notes = _scalar(gym, f"SELECT COUNT(*) FROM crm_notes WHERE lead_id IN (SELECT id FROM crm_leads WHERE {where})")
        consents = _scalar(gym, f"SELECT COUNT(*) FROM consents WHERE lead_id IN (SELECT id FROM crm_leads WHERE {where})")
        identifiers = lead_identifiers(gym, where)
        assert expected >= LEADS and len(identifiers) > 1.9 * LEADS  # emails and phones (random phones rarely repeat)

        first = bot.start_worker()
        run_id, card = _start_purge(bot)
        assert f"{expected:,} CRM leads" in block_texts(card)  # the preview's count is exact
        wait_for(lambda: bot.services.runs.get(run_id).done >= expected // 2, timeout=120, what="half the purge")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        half = bot.services.runs.get(run_id)
        assert half.status == m.RUNNING and 0 < half.done < expected

        bot.start_worker()
        bot.spawn("-m", "bootstrap.cli", "scheduler", log_name="scheduler", RECONCILE_INTERVAL_SECONDS="2")
        run = wait_for(lambda: (r := bot.services.runs.get(run_id)).status in (m.DONE, m.FAILED) and r,
                       timeout=180, what="the resumed purge")
        assert run.status == m.DONE and run.attempts == 2
        assert run.done == run.total == expected and run.residue == 0
        assert run.counts["crm_leads"]["update"] == expected  # each lead exactly once
        assert run.counts["crm_notes"]["delete"] == notes
        assert run.counts["consents"]["delete"] + run.counts["consents"]["held"] == consents

        assert _scalar(gym, f"SELECT COUNT(*) FROM crm_leads WHERE {where} AND (first_name IS NOT NULL OR "
                            "last_name IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL)") == 0
        assert _scalar(gym, f"SELECT COUNT(*) FROM crm_notes WHERE lead_id IN (SELECT id FROM crm_leads WHERE {where})") == 0
        assert text_values_containing(gym, identifiers) == 0
        final = wait_for(lambda: "Status: :white_check_mark: done" in (t := block_texts(bulk_card(bot, run_id))) and t,
                         timeout=15, what="the card's closing summary")
        assert "100%" in final
        assert f"{expected:,} / {expected:,}" in final
    finally:
        bot.stop()


SLOW_COMMIT = """
CREATE OR REPLACE FUNCTION gdpr_test_slow_commit() RETURNS trigger AS $$
BEGIN
  IF current_setting('gdpr_test.slept', true) IS DISTINCT FROM 'yes' THEN
    PERFORM set_config('gdpr_test.slept', 'yes', true);
    PERFORM pg_sleep(0.5);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER gdpr_test_slow_commit AFTER UPDATE ON crm_leads DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION gdpr_test_slow_commit();
"""


@pytest.mark.parametrize("layout", ["one database", "two databases"])
def test_connection_cut_at_a_batchs_commit_never_books_progress_that_did_not_commit(
        layout: str, pg_url, redis_url, standin, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Each batch's COMMIT takes half a second (a deferred trigger); the worker's connection to the system
    database is cut three times while it commits. On two databases the checkpoint is booked only after the
    system database committed (two phases), so the run's counts stay exact and no lead keeps its data."""
    config = config_copy(ROOT / "config", tmp_path / "config", retention={"settings": {"batch_size": 1000}})
    state = pg_url if layout == "one database" else request.getfixturevalue("pg_empty_url")
    bot = make_system("postgres+redis", state, standin, tmp_path, redis_url, lease_seconds=5, config_dir=config,
                      system_database_url=pg_url)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        gym = bot.services.system.engine
        add_rejected_leads(gym, leads=12_000)
        with admin.connect() as conn:
            conn.execute(text(SLOW_COMMIT))
        where = f"status = 'rejection' AND status_changed_at < '{cutoff_sql(30)}'"
        expected = _scalar(gym, f"SELECT COUNT(*) FROM crm_leads WHERE {where}")
        bot.start_worker()
        run_id, _ = _start_purge(bot)
        cuts = 0
        with admin.connect() as conn:  # cut the worker's system-DB connection while it commits a batch
            for _ in range(3):
                cuts += wait_for(lambda: conn.execute(text(
                    "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name LIKE 'gdpr-bot[%' AND application_name <> :me AND state = 'active' "
                    "AND query ILIKE 'COMMIT%'"), {"me": f"gdpr-bot[{os.getpid()}]"}).scalar(), timeout=60,
                    what="a batch committing")
        assert cuts >= 3
        run = wait_for(lambda: (r := bot.services.runs.get(run_id)).status in (m.DONE, m.FAILED) and r,
                       timeout=120, what="the purge")
        assert run.status == m.DONE and run.pending is None
        assert run.done == run.total == expected and run.counts["crm_leads"]["update"] == expected
        assert "batch rolled back" in (tmp_path / "worker.log").read_text()
        assert _scalar(gym, f"SELECT COUNT(*) FROM crm_leads WHERE {where} AND email IS NOT NULL") == 0
    finally:
        admin.dispose()
        bot.stop()
