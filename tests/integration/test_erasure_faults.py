"""Erasure under faults: kill -9 mid-transaction on Redis, recipients down (Retry, or closed by the DPO),
and a CRM lead."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from devslack.driver import wait_for
from gdpr.core import models as m
from tests.conftest import ROOT, make_system
from tests.e2e.test_erasure import rich_member
from tests.helpers import DPO, SUPPORT, add_visits, block_texts, file_and_approve
from tests.recipients import RecipientServer, config_with_recipients


@pytest.fixture
def servers():
    s = {"virtuagym": RecipientServer(), "milon": RecipientServer()}
    yield s
    for server in s.values():
        server.stop()


VISITS = 600_000


@pytest.mark.slow
def test_worker_killed_mid_erasure_rolls_back_and_finishes_once(pg_url, redis_url, standin, servers,
                                                                 tmp_path: Path) -> None:
    config = config_with_recipients(ROOT / "config", tmp_path / "config", servers)
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3, config_dir=config)
    try:
        engine = bot.services.system.engine
        member = rich_member(engine)
        add_visits(engine, member["id"], VISITS, first_id=20_000_000)  # seconds of DELETE: caught while it runs
        first = bot.start_worker()
        request_id = file_and_approve(bot, "erase", member["member_number"])
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        # The erasure is one statement of data-modifying CTEs; pg_stat_activity keeps only its first
        # 1024 bytes (track_activity_query_size), so it is recognised by its start - in this test's database:
        # the view shows the whole server, where another test's erasure may be running at the same moment
        erasing = "datname = current_database() AND query LIKE 'WITH erase\\_0 AS%' AND pid <> pg_backend_pid()"
        with admin.connect() as conn:  # wait until the erasure's statement is running
            wait_for(lambda: conn.execute(text(f"SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' AND {erasing}"))
                     .scalar(),
                     timeout=90, what="the erasure transaction")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        with admin.connect() as conn:
            wait_for(lambda: conn.execute(text(f"SELECT COUNT(*) FROM pg_stat_activity WHERE state <> 'idle' AND {erasing}"))
                     .scalar() == 0,
                     timeout=60, what="the killed transaction to be rolled back")
            assert conn.execute(text("SELECT COUNT(*) FROM visits WHERE member_id = :m"),
                                {"m": member["id"]}).scalar() >= VISITS  # rolled back: nothing half-erased
            assert conn.execute(text("SELECT email FROM members WHERE id = :m"), {"m": member["id"]}).scalar()
        admin.dispose()
        assert servers["virtuagym"].received == []  # no notice before the erasure committed
        killed_at = time.monotonic()
        bot.start_worker()
        bot.spawn("-m", "bootstrap.cli", "scheduler", log_name="scheduler", RECONCILE_INTERVAL_SECONDS="2")
        done = bot.wait_status(request_id, (m.DONE, m.FAILED), timeout=120)
        assert done.status == m.DONE and done.attempts == 2 and time.monotonic() - killed_at < 120
        for provider in ("virtuagym", "milon"):
            assert len(servers[provider].received) == 1
        with bot.services.db.session() as s:
            assert s.execute(text("SELECT COUNT(*) FROM erasure_ledger")).scalar() == 1
            assert s.execute(text("SELECT COUNT(*) FROM audit_events WHERE action = 'erasure.residue'")).scalar() == 1
        with bot.services.system.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM visits WHERE member_id = :m"), {"m": member["id"]}).scalar() == 0
    finally:
        bot.stop()


@pytest.mark.parametrize("backend", ["embedded", "postgres+redis"])
def test_recipients_down_get_retry_or_are_closed_by_the_dpo(backend: str, request: pytest.FixtureRequest,
                                                            standin, tmp_path: Path) -> None:
    failing = RecipientServer(fail_first=10_000)  # answers 503 until we say otherwise
    config = config_with_recipients(ROOT / "config", tmp_path / "config", {"virtuagym": failing})  # milon: unreachable
    if backend == "embedded":
        db, redis = request.getfixturevalue("sqlite_url"), None
    else:
        db, redis = request.getfixturevalue("pg_url"), request.getfixturevalue("redis_url")
    bot = make_system(backend, db, standin, tmp_path, redis, http=False, config_dir=config,
                      notice_max_attempts=2, notice_backoff_seconds=0.2)
    if redis:
        bot.start_worker()
    try:
        member = rich_member(bot.services.system.engine)
        request_id = file_and_approve(bot, "erase", member["member_number"])

        def notices_message():
            shown = bot.services.shown.where(f"R-{request_id}", "notices")
            msgs = [x for x in standin.channel(shown[0]) if x["ts"] == shown[1]] if shown else []
            return msgs[0] if msgs and "notice.retry" in str(msgs[0]["blocks"]) and str(msgs[0]["blocks"]).count(
                "notice.retry") == 2 else None
        message = wait_for(notices_message, timeout=60, what="both notices failed, with Retry buttons")
        assert bot.services.requests.get(request_id).status == m.NOTIFYING  # not done while recipients are unsettled
        assert "HTTP 503" in block_texts(message) and "unreachable" in block_texts(message)
        assert len(failing.received) == 2  # max attempts, with backoff between

        buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
        retry = next(e for e in buttons if e["action_id"] == "notice.retry" and "virtuagym" in e["text"]["text"])
        close = next(e for e in buttons if e["action_id"] == "notice.impossible" and "milon" in e["text"]["text"])
        bot.slack.click(SUPPORT, "notice.retry", retry["value"], message["channel"], message["ts"])
        wait_for(lambda: [x for x in standin.channel("ephemeral:" + SUPPORT) if "Only the DPO" in x["text"]],
                 timeout=20, what="refusal")
        failing.fail_first = 0  # the recipient is back
        bot.slack.click(DPO, "notice.retry", retry["value"], message["channel"], message["ts"])
        wait_for(lambda: len(failing.successes()) == 1 or len(failing.received) == 3, timeout=30)
        bot.slack.click(DPO, "notice.impossible", close["value"], message["channel"], message["ts"])
        modal = wait_for(lambda: standin.calls_to("views.open"), timeout=20)[0]
        assert "milon" in str(modal.args["view"])
        short = bot.slack.submit_view(DPO, "notice.impossible_reason", close["value"], {"reason": "no"})
        assert short.json["response_action"] == "errors"
        bot.slack.submit_view(DPO, "notice.impossible_reason", close["value"],
                              {"reason": "Contract with milon ended in 2024; no data was ever sent"})
        done = bot.wait_status(request_id, (m.DONE,), timeout=30)
        notices = {n.recipient: n for n in bot.services.notices.for_request(done.id)}
        assert notices["virtuagym"].status == m.NOTICE_SENT and notices["milon"].status == m.NOTICE_IMPOSSIBLE
        assert notices["milon"].reason.startswith("Contract with milon") and notices["milon"].decided_by == DPO
    finally:
        bot.stop()
        failing.stop()


def test_erase_a_crm_lead(system, gym) -> None:
    with gym.connect() as conn:
        lead = conn.execute(text("SELECT id, email, phone FROM crm_leads WHERE converted_member_id IS NULL "
                                 "AND status = 'rejection' ORDER BY id LIMIT 1")).mappings().one()
    system.slack.command(SUPPORT, f"erase lead {lead['email']}")
    card = system.card()
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    assert "`crm_leads`: 1 row(s) anonymised" in block_texts(card)
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id, (m.DONE, m.FAILED), timeout=60)
    assert done.status == m.DONE and done.result["residue"] == []
    with gym.connect() as conn:
        row = conn.execute(text("SELECT email, phone, first_name FROM crm_leads WHERE id = :i"), {"i": lead["id"]}).one()
        found = conn.execute(text("SELECT COUNT(*) FROM crm_leads WHERE email = :e"), {"e": lead["email"]}).scalar()
    assert tuple(row) == (None, None, None) and found == 0
