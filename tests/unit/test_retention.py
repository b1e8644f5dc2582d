"""Retention policies: validation with file:line:key, durations in calendar terms, the CRM purge's options,
and the bulk engine's batches on both databases."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.grammar import parse
from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.retention import check_against_schema, crm_purge_spec, cutoff, load_retention, parse_duration
from gdpr.core.datamap import load_datamap
from gdpr.core.db import live_columns, make_engine
from gdpr.core.errors import ConfigError, UsageError
from gdpr.core.subjects import SubjectDirectory
from gdpr.erasure.engine import ErasureEngine
from tests.conftest import ROOT

DATAMAP = load_datamap(ROOT / "config" / "datamap.yaml")
SHIPPED = (ROOT / "config" / "retention.yaml").read_text()


def _load(tmp_path: Path, body: str):
    path = tmp_path / "retention.yaml"
    path.write_text(body)
    return load_retention(path, DATAMAP)


def test_the_shipped_policies_load_and_each_names_its_legal_basis(tmp_path: Path) -> None:
    config = _load(tmp_path, SHIPPED)
    assert set(config.policies) == {"rejected-leads", "former-members", "old-visits", "old-staff-notes",
                                    "ended-invoice-hold", "ended-contract-hold", "ended-consent-hold", "sent-mail",
                                    "export-files"}
    assert all(p.basis.startswith("Art.") for p in config.policies.values())
    assert config.policies["rejected-leads"].spec.table == "crm_leads"


@pytest.mark.parametrize("old, new, where", [
    ("table: visits\n", "table: visitz\n", "policies.old-visits.table: unknown table 'visitz'"),
    ("age_column: checked_in_at", "age_column: checked_at", "policies.old-visits.age_column: unknown column"),
    ("older_than: 36mo", "older_than: 36 months", "policies.old-visits.older_than"),
    ('schedule: "0 4 * * *"', 'schedule: "0 25 * * *"', "policies.old-visits.schedule: not a cron schedule"),
    ("approval: auto\n\n  old-staff", "approval: sometimes\n\n  old-staff", "policies.old-visits.approval"),
    ("    subject: member\n", "    subject: visitor\n", "policies.former-members.subject: unknown subject type"),
    ("    action: anonymise\n", "    action: shred\n", "policies.ended-invoice-hold.action: unknown action"),
    ("table: contracts\n", "table: pos_sales\n", "policies.ended-contract-hold.table: 'pos_sales' has no legal hold"),
])
def test_a_mistake_is_reported_with_file_line_and_key(tmp_path: Path, db_url: str, old: str, new: str,
                                                     where: str) -> None:
    assert old in SHIPPED
    broken = SHIPPED.replace(old, new, 1)
    line = broken[:broken.index(new)].count("\n") + 1
    engine = make_engine(db_url, immediate=False)
    try:
        with pytest.raises(ConfigError) as err:
            check_against_schema(_load(tmp_path, broken), live_columns(engine))
    finally:
        engine.dispose()
    assert where in str(err.value) and f"retention.yaml:{line}:" in str(err.value)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"retention.yaml:4: invalid YAML"):
        _load(tmp_path, "version: 1\npolicies:\n  x:\n\tbasis: a tab\n")


def test_durations_are_calendar_aware() -> None:
    assert parse_duration("24MO") == "24mo"
    for bad in ("30", "30 days", "0d", "-3d", "1h", "d30"):
        with pytest.raises(UsageError, match="not a duration"):
            parse_duration(bad)
    t = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    assert cutoff(t, "1mo") == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    assert cutoff(t, "24mo") == dt.datetime(2024, 3, 31, 12, tzinfo=dt.UTC)
    assert cutoff(t, "2w") == dt.datetime(2026, 3, 17, 12, tzinfo=dt.UTC)
    assert cutoff(dt.datetime(2028, 2, 29), "1y") == dt.datetime(2027, 2, 28)


def test_crm_purge_options(tmp_path: Path) -> None:
    config = _load(tmp_path, SHIPPED)
    clubs = {"ghent-centre": "2", "leuven": "4"}
    spec = crm_purge_spec(config, dict(parse("crm purge --older-than 90d --club leuven").options), clubs)
    assert (spec.where, spec.club_id, spec.older_than, spec.subject) == ({"status": ["rejection"]}, "4", "90d", "lead")
    with pytest.raises(UsageError, match="not a status.*Allowed: `rejection`"):
        crm_purge_spec(config, {"status": "converted"}, clubs)
    with pytest.raises(UsageError, match="no club `atlantis`.*`ghent-centre`"):
        crm_purge_spec(config, {"club": "atlantis"}, clubs)
    for bad in ("crm purge --status", "crm purge --club a --club b", "crm purge now", "retention report all"):
        with pytest.raises(UsageError, match="Usage"):
            parse(bad)


def test_batches_follow_the_key_and_never_take_a_row_twice(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url, immediate=False)
    try:
        erasure = ErasureEngine(engine, DATAMAP)
        bulk = BulkEngine(engine, DATAMAP, erasure, SubjectDirectory(engine, DATAMAP))
        spec = _load(tmp_path, SHIPPED).policies["old-visits"].spec
        spec = type(spec)(**{**spec.to_json(), "batch_size": 50})
        as_of = dt.datetime.now(dt.UTC)
        total = bulk.count(spec, as_of)
        seen, last = [], None
        with engine.connect() as conn:
            trans = conn.begin()
            first = bulk.next_batch(conn, spec, as_of, None)
            bulk.apply(conn, spec, first)
            trans.rollback()  # a batch rolled back is taken again, whole
        while True:
            with engine.begin() as conn:
                keys = bulk.next_batch(conn, spec, as_of, last)
                step = bulk.step(conn, spec, as_of, last)
            if step is None:
                break
            assert step.counts == {"visits": {"deleted": len(keys)}} and step.last_key == str(keys[-1])
            seen += keys
            last = step.last_key
        assert seen[:50] == first and seen == sorted(set(seen)) and len(seen) == total > 50
        assert bulk.count(spec, as_of) == 0 and bulk.residue(spec, as_of) == 0
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM visits")).scalar_one() > 0  # the young ones stay
    finally:
        engine.dispose()


def test_the_bar_reaches_100_percent_only_when_everything_is_done() -> None:
    from bot.render_bulk import progress_bar
    assert progress_bar(99_999, 100_000).endswith(" 99%") and "░" in progress_bar(99_999, 100_000)
    assert progress_bar(100_000, 100_000).endswith(" 100%") and "░" not in progress_bar(100_000, 100_000)


@pytest.mark.parametrize("schedule, weekday", [("30 3 * * 1", "Monday"), ("0 9 * * 0", "Sunday"), ("0 9 * * 7", "Sunday"),
                                               ("0 9 * * 5", "Friday"), ("0 9 * * mon", "Monday")])
def test_weekdays_are_numbered_as_in_cron(schedule: str, weekday: str) -> None:
    from gdpr.bulk.retention import cron_trigger
    after = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)  # a Friday
    assert cron_trigger(schedule).get_next_fire_time(None, after).strftime("%A") == weekday


def test_a_weekday_range_and_a_step_keep_their_meaning() -> None:
    from gdpr.bulk.retention import cron_trigger
    after = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)  # a Saturday
    assert cron_trigger("0 9 * * 1-5").get_next_fire_time(None, after).strftime("%A") == "Monday"
    fires = cron_trigger("0 9 */2 * *").get_next_fire_time(None, after)
    assert fires.day % 2 == 1  # day-of-month steps are untouched
