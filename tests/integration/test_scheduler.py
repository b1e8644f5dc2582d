"""The retention scheduler on PostgreSQL + Redis with a real worker: a day on a controllable clock with
restarts, a second scheduler and an outage; the share guard; the report; two real scheduler processes."""
from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

from sqlalchemy import text

from bootstrap.runtime import housekeeping_pass
from devslack.driver import wait_for
from gdpr.core import models as m
from tests.conftest import ROOT, make_system
from tests.helpers import DPO, block_texts, bulk_card, config_copy, wait_ephemeral

DAY = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)  # a Friday: no Monday or 1st-of-month policy is due
TICK = dt.timedelta(minutes=20)  # 73 ticks: every phase edge and every slot of the day falls between two


def _config(tmp_path: Path) -> Path:
    """The shipped policies, with staff notes allowed to run alone whatever their share."""
    config = config_copy(ROOT / "config", tmp_path / "config")
    path = config / "retention.yaml"
    path.write_text(path.read_text().replace("    schedule: \"15 4 * * *\"\n    approval: auto",
                                             "    schedule: \"15 4 * * *\"\n    approval: auto\n    max_share: 0.9"))
    return config


def _runs(services) -> list[m.BulkRun]:
    with services.db.session() as s:
        runs = list(s.query(m.BulkRun).order_by(m.BulkRun.id))
        s.expunge_all()
        return runs


def _day(services, phases: list[tuple[str, str, str]], extra: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Tick every 20 minutes of the clock; each phase is one scheduler's life (owner, from, to)."""
    acted = {owner: 0 for owner, *_ in phases} | {owner: 0 for owner in extra}
    now = DAY
    while now <= DAY + dt.timedelta(days=1, minutes=5):
        hhmm = now.strftime("%H:%M") if now < DAY + dt.timedelta(days=1) else "24:05"
        for owner, start, end in phases + [(o, *span) for o, span in extra.items()]:
            if start <= hhmm < end:
                before = len(_runs(services))
                housekeeping_pass(services, owner=owner, now=now)
                acted[owner] += len(_runs(services)) - before
        now += TICK
    return acted


def test_a_day_with_restarts_runs_each_policy_once_per_slot(pg_url, redis_url, standin, tmp_path: Path) -> None:
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, config_dir=_config(tmp_path))
    try:
        bot.start_worker()
        gym = bot.services.system.engine
        with gym.connect() as conn:
            old_notes = conn.execute(text("SELECT COUNT(*) FROM staff_notes WHERE created_at < :c"),
                                     {"c": dt.datetime(2024, 11, 27, 4, 15)}).scalar_one()
        assert old_notes > 0
        # Three lives (restarted twice, and down across the 03:00 slot), plus a second scheduler
        # started by mistake during the middle one.
        acted = _day(bot.services, [("sched-A", "00:00", "02:50"), ("sched-B", "03:20", "15:50"),
                                    ("sched-C", "16:10", "24:10")], {"sched-B2": ("03:30", "15:00")})
        runs = _runs(bot.services)
        per_policy: dict[str, list[m.BulkRun]] = {}
        for run in runs:
            per_policy.setdefault(run.policy, []).append(run)
        assert len({r.slot_key for r in runs}) == len(runs)
        assert {p: len(rs) for p, rs in per_policy.items()} == {
            "rejected-leads": 1, "old-visits": 1, "old-staff-notes": 1, "sent-mail": 1, "export-files": 24}
        assert acted["sched-B2"] == 0  # the standby never acted
        assert per_policy["rejected-leads"][0].slot_key.endswith("T03:00:00+00:00")  # the slot of the outage ran

        leads = per_policy["rejected-leads"][0]
        assert leads.status == m.AWAITING_APPROVAL and "policy requires" in leads.needs_approval
        card = block_texts(bulk_card(bot, leads.id))
        assert "Legal basis: Art. 5(1)" in card and "CRM leads" in card

        visits = per_policy["old-visits"][0]  # auto-run, but above the share limit: asks the DPO
        assert visits.status == m.AWAITING_APPROVAL and "more than the 20%" in visits.needs_approval
        assert all(r.status == m.DONE and r.total == 0 for r in per_policy["export-files"] + per_policy["sent-mail"])

        notes = wait_for(lambda: (r := bot.services.runs.get(per_policy["old-staff-notes"][0].id)).status == m.DONE
                         and r, timeout=60, what="the automatic staff-notes run")
        assert notes.done == notes.total == old_notes and notes.decided_by is None and notes.residue == 0
        with gym.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM staff_notes WHERE created_at < :c"),
                                {"c": dt.datetime(2024, 11, 27, 4, 15)}).scalar_one() == 0
        with bot.services.db.session() as s:
            assert s.execute(text("SELECT owner FROM scheduler_lease")).scalar() == "sched-C"

        bot.slack.command(DPO, "retention report")
        report = block_texts(wait_ephemeral(standin, DPO))
        assert f"old-staff-notes (automatic): last 30 days 1 run(s), {old_notes:,} rows" in report
        assert f"Waiting for the DPO: P-{leads.id}" in report and "Next run:" in report
    finally:
        bot.stop()


def test_a_long_outage_folds_missed_slots_into_one_recorded_run(pg_url, redis_url, standin, tmp_path: Path) -> None:
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, config_dir=_config(tmp_path))
    try:
        housekeeping_pass(bot.services, owner="sched-A", now=DAY)
        housekeeping_pass(bot.services, owner="sched-B", now=DAY + dt.timedelta(hours=5, minutes=30))
        exports = [r for r in _runs(bot.services) if r.policy == "export-files"]
        assert [r.slot_key for r in exports] == ["export-files@2026-11-27T05:00:00+00:00"]
        with bot.services.db.session() as s:
            folded = s.execute(text("SELECT details FROM audit_events WHERE action = 'retention.slots_folded' "
                                    "AND details LIKE '%export-files%'")).scalar()
        assert '"slots":4' in folded  # 01:00-04:00 are on record as caught up by the 05:00 run
    finally:
        bot.stop()


def test_two_scheduler_processes_one_acts_the_other_takes_over(pg_url, redis_url, standin, tmp_path: Path) -> None:
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, config_dir=_config(tmp_path))
    try:
        procs = [bot.spawn("-m", "bootstrap.cli", "scheduler", log_name=f"scheduler{i}", RECONCILE_INTERVAL_SECONDS="2")
                 for i in range(2)]

        def owner() -> str | None:
            with bot.services.db.session() as s:
                return s.execute(text("SELECT owner FROM scheduler_lease WHERE expires_at IS NOT NULL")).scalar()
        leader = wait_for(owner, timeout=30, what="a scheduler to lead")
        pids = {p.pid: p for p in procs}
        leader_pid = int(leader.rsplit(":", 1)[1])
        assert leader_pid in pids
        for _ in range(3):  # the lease (3 ticks of 2 s) stays with the leader while it lives (watched over 3 s)
            time.sleep(1)
            assert owner() == leader
        os.killpg(leader_pid, signal.SIGTERM)  # a clean stop hands the lease back
        pids[leader_pid].wait(timeout=20)
        successor = wait_for(lambda: (o := owner()) and o != leader and o, timeout=30, what="the standby to take over")
        assert int(successor.rsplit(":", 1)[1]) in pids.keys() - {leader_pid}
    finally:
        bot.stop()


def test_a_policy_waiting_for_the_dpo_opens_no_second_run(pg_url, redis_url, standin, tmp_path: Path) -> None:
    """Issue 23, defect 8: each day's slot opened another run of the same policy while the first still
    waited for the DPO; now a slot folds into the run not yet done (on record), and the next one after it
    is decided opens anew."""
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, config_dir=_config(tmp_path))
    try:
        leads = lambda: [r for r in _runs(bot.services) if r.policy == "rejected-leads"]  # noqa: E731
        housekeeping_pass(bot.services, owner="sched", now=DAY)
        for day in range(3):  # three daily slots while the first run waits
            housekeeping_pass(bot.services, owner="sched", now=DAY + dt.timedelta(days=day, hours=3, minutes=5))
        assert len(leads()) == 1 and leads()[0].status == m.AWAITING_APPROVAL
        with bot.services.db.session() as s:
            deferred = s.execute(text("SELECT COUNT(*) FROM audit_events WHERE action = 'retention.slot_deferred' "
                                      "AND details LIKE '%rejected-leads%'")).scalar()
        assert deferred == 2
        with bot.services.db.session() as s:  # the DPO decided it (rejected)
            s.execute(text("UPDATE bulk_runs SET status = 'rejected' WHERE id = :i"), {"i": leads()[0].id})
        housekeeping_pass(bot.services, owner="sched", now=DAY + dt.timedelta(days=3, hours=3, minutes=5))
        assert len(leads()) == 2 and leads()[1].status == m.AWAITING_APPROVAL
    finally:
        bot.stop()
