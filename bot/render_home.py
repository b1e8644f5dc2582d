"""Block Kit for the App Home: references, dates and countdowns only (never a subject's personal data);
each list shows its first items and how many there are."""
from __future__ import annotations

import datetime as dt

from bot.render import mrkdwn, plain
from gdpr.app.home_view import Home, Listed

STATUS = {"received": "awaiting the DPO", "awaiting_approval": "awaiting the DPO", "approved": "approved",
          "queued": "queued", "running": "running"}


def _days(due: dt.date, today: dt.date) -> str:
    left = (due - today).days
    return f"*overdue {-left} d*" if left < 0 else ("*due today*" if left == 0 else f"due in {left} d")


def _hours(deadline: dt.datetime, now: dt.datetime) -> str:
    left = (deadline - now).total_seconds() / 3600
    return f"*{-left:.0f} h past the 72 hours*" if left < 0 else f"{left:.0f} h left of 72"


def _section(title: str, listed: Listed, lines: list[str], empty: str) -> list[dict]:
    more = f" — showing {len(lines)} of {listed.total}" if listed.total > len(lines) else ""
    body = "\n".join(lines) if lines else empty
    return [{"type": "header", "text": plain(f"{title} ({listed.total})")},
            {"type": "section", "text": mrkdwn(body[:2900])},
            *([{"type": "context", "elements": [mrkdwn(f"Soonest first{more}.")]}] if more else [])]


def home_view(home: Home) -> dict:
    today = home.now.date()
    blocks: list[dict] = [{"type": "section", "text": mrkdwn(f"*GDPR operations* · as of {home.now:%d %b %H:%M} UTC")}]
    if all(x is None for x in (home.requests, home.approvals, home.grants, home.breaches, home.runs)):
        blocks.append({"type": "section", "text": mrkdwn("You have no role in GDPR operations, so there is nothing "
                                                         "to show you here. Ask your DPO if you need one.")})
    if home.requests is not None:
        blocks += _section("Open requests", home.requests,
                           [f"`{r['ref']}` {r['kind']} · {STATUS.get(r['status'], r['status'])} · "
                            f"{_days(r['due_on'], today)} ({r['due_on']:%d %b})" + (" · extended" if r["extended"] else "")
                            for r in home.requests.items], "None open.")
    if home.approvals is not None:
        blocks += _section("Waiting for your decision", home.approvals,
                           [f"`{a['ref']}` {a['what']}" for a in home.approvals.items], "Nothing waits for you.")
    if home.grants is not None:
        blocks += _section("Live temporary access", home.grants,
                           [f"`{g['ref']}` <@{g['user']}> until {g['expires_at']:%d %b %H:%M} UTC"
                            for g in home.grants.items], "No temporary access is live.")
    if home.breaches is not None:
        blocks += _section("Open breaches", home.breaches,
                           [f"`{b['ref']}` {_hours(b['deadline'], home.now)} · notices sent: phase {b['phase']}"
                            for b in home.breaches.items], "No open breach.")
    if home.runs is not None:
        blocks += _section("Retention runs waiting for the DPO", home.runs,
                           [f"`{r['ref']}` {r['policy']} · {r['rows']:,} rows" for r in home.runs.items], "None waiting.")
    return {"type": "home", "blocks": blocks[:100]}
