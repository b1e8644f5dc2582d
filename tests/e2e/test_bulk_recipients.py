"""Art. 19 for bulk erasures: a retention run that erases members tells every integration each of them
was linked to, once per member and link, through the same outbox as one erasure (both backends)."""
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
from tests.helpers import DPO, block_texts, bulk_card
from tests.recipients import RecipientServer, config_with_recipients

UTC = dt.UTC
PROVIDERS = ("virtuagym", "milon", "clubplanner", "technogym")


@pytest.fixture
def recipients():
    servers = {p: RecipientServer(fail_first=1 if p == "milon" else 0) for p in PROVIDERS}
    yield servers
    for s in servers.values():
        s.stop()


@pytest.fixture
def system_config(tmp_path: Path, recipients) -> Path:
    config = config_with_recipients(ROOT / "config", tmp_path / "config", recipients)
    path = config / "retention.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["policies"] = {"former-members": doc["policies"]["former-members"]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def test_a_retention_erasure_tells_each_members_integrations_once(system, gym, recipients) -> None:
    with gym.begin() as conn:  # three former members, each with integrations of their own
        ids = conn.execute(text("SELECT id FROM members WHERE status = 'active' ORDER BY id LIMIT 3")).scalars().all()
        conn.execute(text("UPDATE members SET status = 'ended', ended_on = '2021-05-31' WHERE id IN (:a, :b, :c)"),
                     dict(zip("abc", ids, strict=True)))
        conn.execute(text("DELETE FROM integration_links WHERE member_id IN (:a, :b, :c)"), dict(zip("abc", ids, strict=True)))
        for i, (member, provider) in enumerate([(ids[0], "virtuagym"), (ids[0], "milon"), (ids[1], "milon"),
                                                (ids[2], "technogym"), (ids[2], "technogym")]):  # a second link
            conn.execute(text("INSERT INTO integration_links (id, member_id, provider, external_id, linked_at, active) "
                              "VALUES (:i, :m, :p, :e, '2020-01-01 10:00:00', true)"),
                         {"i": 8_000_000 + i, "m": member, "p": provider, "e": f"EXT-{member}-{provider}-{i}"})
        expected = {p: {m for m, in conn.execute(text(
            "SELECT DISTINCT l.member_id FROM integration_links l JOIN members m ON m.id = l.member_id "
            "WHERE m.status = 'ended' AND m.ended_on < '2024-11-30' AND l.provider = :p"), {"p": p})} for p in PROVIDERS}
        former = conn.execute(text("SELECT COUNT(*) FROM members WHERE status = 'ended' AND ended_on < '2024-11-30'")).scalar()
    assert len(expected["milon"]) >= 2 and ids[2] in expected["technogym"]

    housekeeping_pass(system.services, owner="clock", now=dt.datetime(2026, 11, 27, 12, tzinfo=UTC))  # first sight
    housekeeping_pass(system.services, owner="clock", now=dt.datetime(2026, 11, 30, 4, tzinfo=UTC))  # Monday 03:30
    card = bulk_card(system)
    run_id = int(card["blocks"][0]["text"]["text"].split("P-")[1])
    system.slack.click(DPO, "bulk.approve", str(run_id), card["channel"], card["ts"])
    run = wait_for(lambda: (r := system.services.runs.get(run_id)).status == m.DONE and r, timeout=120, what="run done")
    assert run.residue == 0 and run.done == run.total == former

    total = sum(len(v) for v in expected.values())
    wait_for(lambda: system.services.notices.run_summary(run_id).get(m.NOTICE_SENT) == total, timeout=90,
             what="every notice sent")
    for provider in PROVIDERS:
        got = recipients[provider].successes()
        assert sorted(g["body"]["reference"] for g in got) == [f"P-{run_id}"] * len(expected[provider])
        assert len({g["key"] for g in got}) == len(got)  # one idempotency key per member and recipient
    milon = {g["body"]["external_id"] for g in recipients["milon"].successes()}
    assert f"EXT-{ids[0]}-milon-1" in milon and f"EXT-{ids[1]}-milon-2" in milon
    assert len(recipients["milon"].received) == len(expected["milon"]) + 1  # one 503, retried once
    technogym = [g["body"]["external_id"] for g in recipients["technogym"].successes()]
    assert sum(e.startswith(f"EXT-{ids[2]}-") for e in technogym) == 1  # two links, one notice
    final = wait_for(lambda: f"{total} sent" in block_texts(bulk_card(system, run_id)) and bulk_card(system, run_id),
                     timeout=30, what="the card's recipients line")
    assert "Recipients told (Art. 19)" in block_texts(final)
