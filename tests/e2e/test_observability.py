"""What an operator watches, scraped the way Prometheus and a load balancer do: /metrics parses and carries
the bot's series with the numbers the state DB holds; /readyz names each dependency; logs are JSON lines."""
from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import subprocess
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from gdpr.core.db import make_engine
from gdpr.core.logsafe import JsonFormatter, install
from tests.conftest import ROOT
from tests.e2e.test_breaches import report
from tests.helpers import STRANGER, SUPPORT, file_and_approve, unique_member, wait_ephemeral


def _get(system, path: str) -> tuple[int, str]:
    url = system.ops_url + path
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_carry_commands_acks_requests_breaches_and_the_outbox(system, gym) -> None:
    before = _samples(_get(system, "/metrics")[1])
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"find {member['member_number']}")
    wait_ephemeral(system.standin, SUPPORT, 1)
    system.slack.command(STRANGER, f"find {member['member_number']}")
    wait_ephemeral(system.standin, STRANGER, 1)
    system.slack.command(SUPPORT, "frobnicate")
    system.wait_status(file_and_approve(system, "access", member["member_number"]))
    report(system, aware_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=62))  # 10 h left on the clock

    status, text = _get(system, "/metrics")
    assert status == 200
    after = _samples(text)
    delta = lambda key: after.get(key, 0) - before.get(key, 0)  # noqa: E731
    assert delta(("gdpr_commands_total", (("command", "find"), ("outcome", "ok")))) == 1
    assert delta(("gdpr_commands_total", (("command", "find"), ("outcome", "not_allowed")))) == 1
    assert delta(("gdpr_commands_total", (("command", "(malformed)"), ("outcome", "usage")))) == 1
    assert delta(("gdpr_ack_seconds_count", ())) >= 4  # every request Slack sent was answered and timed
    assert after[("gdpr_breaches_clock", (("hours_left", "0-12"),))] == 1
    for bucket in ("overdue", "0-3", "4-7", "8-14", "15+"):
        assert ("gdpr_open_requests", (("days_left", bucket),)) in after
    for outbox in ("recipients", "breach_clubs"):
        assert ("gdpr_outbox_backlog", (("outbox", outbox), ("status", "pending"))) in after
    assert ("gdpr_bulk_rows_per_second", ()) in after and ("gdpr_jobs_recovered", (("kind", "request"),)) in after
    assert "process_resident_memory_bytes" in text
    assert member["email"] not in text and member["member_number"] not in text  # labels never carry a subject


def test_readyz_names_each_dependency_and_fails_when_one_is_down(system) -> None:
    status, body = _get(system, "/readyz")
    checks = json.loads(body)["checks"]
    assert status == 200 and checks["state_db"] == "ok" and checks["system_db"] == "ok"
    assert ("redis" in checks) == (system.backend == "postgres+redis")
    system.services.system.engine = make_engine("postgresql://gdpr:s3cret@127.0.0.1:1/gone", immediate=False)
    status, body = _get(system, "/readyz")
    assert status == 503 and json.loads(body)["checks"]["system_db"].startswith("down (")
    assert json.loads(body)["checks"]["state_db"] == "ok" and "s3cret" not in body and "gone" not in body


def test_json_logs_are_one_scrubbed_event_per_line() -> None:
    install()
    record = logging.getLogger("gdpr.requests.jobs").makeRecord(
        "gdpr.requests.jobs", logging.INFO, __file__, 1, "job %s ok for jan.peeters@telenet.be", ("export_subject",), None,
        extra={"job": "export_subject", "attempt": 2, "duration_ms": 31, "outcome": "ok", "message_id": "m-1"})
    line = JsonFormatter().format(record)
    event = json.loads(line)
    assert "\n" not in line and event["level"] == "INFO" and event["logger"] == "gdpr.requests.jobs"
    assert event["job"] == "export_subject" and event["attempt"] == 2 and event["outcome"] == "ok"
    assert "jan.peeters" not in line and event["ts"].endswith("Z")


def test_the_dashboard_and_alert_rules_use_series_the_processes_expose(system) -> None:
    """Every gdpr_ series an alert or a panel queries is one /metrics exposes; every dramatiq_ one is a
    series of Dramatiq's Prometheus middleware (its module names them)."""
    import re
    from pathlib import Path

    import dramatiq.middleware.prometheus as dramatiq_prometheus
    import yaml

    from tests.conftest import ROOT
    base = lambda name: re.sub(r"_(total|bucket|count|sum)$", "", name)  # noqa: E731 - a series' family
    exposed = {f.name for f in text_string_to_metric_families(_get(system, "/metrics")[1])}  # with HELP, even unused
    dramatiq_names = {base(n) for n in re.findall(r'"(dramatiq_\w+)"', Path(dramatiq_prometheus.__file__).read_text())}
    rules = yaml.safe_load((ROOT / "ops" / "prometheus-alerts.yaml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((ROOT / "ops" / "grafana-dashboard.json").read_text())
    exprs = [r["expr"] for r in rules] + [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in re.findall(r"\b((?:gdpr|dramatiq)_\w+)", e)}
    assert {r["alert"] for r in rules} >= {"GdprBreachClockUnder12h", "GdprRequestPastDue", "GdprOutboxStuck",
                                           "GdprWorkerDown"}
    missing = {n for n in used if base(n) not in (exposed if n.startswith("gdpr_") else dramatiq_names)}
    assert used and missing == set()


def _promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (.ci/run installs Debian's prometheus package)"
    return subprocess.run([promtool, *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT / "ops")


def test_the_alert_rules_pass_promtool_and_their_own_tests() -> None:
    """Issue 23, defect 5: the rules load, and they fire as they should - GdprBotNotReady and GdprApiDown
    also when the target is not scraped at all; two bot replicas do not double a breach."""
    checked = _promtool("check", "rules", "prometheus-alerts.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", "prometheus-alerts.test.yaml")
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_metrics_lint_clean_and_tell_the_truth_when_the_state_db_is_down(system, monkeypatch) -> None:
    from bootstrap.observability import metrics_text
    from bootstrap.runtime import api_app
    from gdpr.core.db import Database
    from tests.e2e.test_club_api import CLUB, Api, _token
    status, text = _get(system, "/metrics")
    linted = _promtool("check", "metrics", stdin=text)
    assert linted.returncode == 0, linted.stdout + linted.stderr  # names, types, help: what promtool asks
    assert "gdpr_open_requests" in text and _samples(text)[("gdpr_state_db_up", ())] == 1
    api_text = metrics_text(system.services, state=False).decode()  # what the api's operations port serves
    assert "gdpr_open_requests" not in api_text and "gdpr_api_calls" in api_text  # the bot alone reports the state DB

    server = Api(api_app(system.services, per_minute=1000))  # a call that ends in 500 is counted too
    try:
        token = _token(system, CLUB)
        monkeypatch.setattr(system.services.club_api, "listed", lambda **_: 1 / 0)
        assert server.call("GET", "/v1/requests", token)[0] == 500
    finally:
        server.stop()
    assert _samples(_get(system, "/metrics")[1])[("gdpr_api_calls_total", (("route", "/v1/requests"), ("status", "500")))] >= 1

    monkeypatch.setattr(system.services, "db", Database("postgresql+psycopg://nobody@127.0.0.1:1/none", immediate=False))
    status, text = _get(system, "/metrics")  # the state DB gone: what is known is served, its gauges marked stale
    assert status == 200 and _samples(text)[("gdpr_state_db_up", ())] == 0
    assert "gdpr_open_requests{" not in text and "gdpr_breaches_clock{" not in text and "gdpr_commands_total" in text
