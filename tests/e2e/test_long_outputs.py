"""Months of use, paged: a register of 2,000 breaches and a breach with 500 timeline steps render within
Block Kit's limits on every page, newest first, and Previous / Next reach every breach and every step,
on both backends."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import insert

from devslack.driver import wait_for
from gdpr.core import models as m
from tests.helpers import DPO, ephemerals, within_block_kit

UTC = dt.UTC


def _arrange(system, breaches: int, steps: int) -> int:
    """`breaches` breaches straight into the state DB; the last one with `steps` timeline steps."""
    at = dt.datetime(2026, 1, 1, tzinfo=UTC)
    rows = [dict(status=m.BREACH_CLOSED, reported_by=DPO, reported_at=at, detected_at=at, aware_at=at,
                 kinds=["confidentiality"], description=f"lost laptop {i}", data_categories=["contact"],
                 subject_categories=["members"], approx_people=3, approx_records=3, clubs=["ghent-centre"],
                 consequences="-", measures="-", contact="dpo@example.org", risk="not_high", phase=1,
                 members_total=0, members_done=0) for i in range(breaches)]
    with system.services.db.session() as s:
        s.execute(insert(m.Breach), rows)
        last = breaches  # ids 1..n on a fresh database
        s.execute(insert(m.BreachEvent), [dict(breach_id=last, at=at + dt.timedelta(minutes=i), actor=DPO, kind="note",
                                               text=f"step {i:03d} " + "x" * (40 + i % 300)) for i in range(steps)])
    return last


def _walk(system, command: str, pattern: str) -> tuple[list[str], int]:
    """Send the command, then click Older until there is none; every page within limits. Returns the refs
    seen (in order) and the number of pages."""
    before = len(ephemerals(system.standin, DPO))
    system.slack.command(DPO, command)
    seen, pages = [], 0
    while True:
        page = wait_for(lambda before=before: len(ephemerals(system.standin, DPO)) > before and ephemerals(system.standin, DPO)[before],
                        timeout=20, what=f"page {pages + 1}")
        before += 1
        pages += 1
        assert within_block_kit(page) == [], within_block_kit(page)
        text = "\n".join(b.get("text", {}).get("text", "") for b in page["blocks"] if b["type"] == "section")
        seen += re.findall(pattern, text)
        older = [e for b in page["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "page.next"]
        footer = str([b for b in page["blocks"] if b["type"] == "context"])
        labels = {e["text"]["text"] for b in page["blocks"] if b["type"] == "actions" for e in b["elements"]}
        assert "Previous" not in footer and all(label in footer for label in labels)  # it names the buttons there are
        if not older:
            assert "Showing" in str(page["blocks"])  # says what it shows of how many
            return seen, pages
        system.slack.click(DPO, "page.next", older[0]["value"], "C0SUPPORT", "0")


def test_a_register_of_2000_breaches_and_a_timeline_of_500_steps_are_all_reachable(system) -> None:
    last = _arrange(system, breaches=2000, steps=500)
    refs, pages = _walk(system, "breach list", r"B-(\d+) ·")
    assert [int(r) for r in refs] == list(range(2000, 0, -1)) and pages == 100  # newest first, each once

    steps, pages = _walk(system, f"breach show B-{last}", r"step (\d{3})")
    assert [int(s) for s in steps] == list(range(499, -1, -1)) and pages == 25
