"""A real worker process with WORKER_METRICS_PORT and LOG_FORMAT=json: Dramatiq's Prometheus series for
the job it ran, scraped and parsed, and one JSON event per job in its log."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from devslack.driver import wait_for
from gdpr.core import models as m
from tests.conftest import free_port, make_system
from tests.helpers import file_and_approve, unique_member
from tests.integration.test_exposure import _listening
from tests.smtp import SmtpServer


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_worker_exposes_dramatiq_metrics_and_logs_json_events(pg_url, redis_url, standin, tmp_path: Path) -> None:
    smtp = SmtpServer().start()  # outside the demo a worker needs SMTP (passphrases never go to files)
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, smtp_url=smtp.url)
    port = free_port()
    try:
        bot.spawn("-m", "bootstrap.cli", "worker", "--processes", "1", "--threads", "2", log_name="worker",
                  WORKER_METRICS_PORT=str(port), LOG_FORMAT="json")  # as the Procfile runs it
        member = unique_member(bot.services.system.engine)
        request_id = file_and_approve(bot, "access", member["member_number"])
        assert bot.wait_status(request_id).status == m.DONE
        key = ("dramatiq_messages_total", (("actor_name", "export_subject"), ("queue_name", "exports")))
        samples = wait_for(lambda: (s := _scrape(port)).get(key, 0) >= 1 and s, timeout=30, what="worker metrics")
        assert samples.get(("dramatiq_message_errors_total", key[1]), 0) == 0
        assert set(_listening(port)) == {"0100007F"}  # an operations port: loopback unless OPS_HOST says otherwise

        log = (tmp_path / "worker.log").read_text()
        events = [json.loads(line) for line in log.splitlines()]  # every line, the supervisor's included
        jobs = [e for e in events if e.get("job") == "export_subject"]
        assert jobs and jobs[-1]["outcome"] == "ok" and jobs[-1]["attempt"] == 1 and jobs[-1]["duration_ms"] >= 0
        assert member["email"] not in log and member["member_number"] not in log
    finally:
        bot.stop()
        smtp.stop()
