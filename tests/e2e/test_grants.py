"""Temporary support access end to end, on both backends, the way Slack drives it: support asks, the DPO
approves on the card, support sees that one subject unmasked (audited, in the member's change history),
the scheduler's pass on a controllable clock ends it (masked again, both sides told in the thread); the
DPO revokes another early; the role's cap and four eyes hold."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, text

from bootstrap.runtime import housekeeping_pass
from devslack.driver import wait_for
from gdpr.core import models as m
from tests.helpers import COLLEAGUE, DPO, SUPPORT, block_texts, ephemerals, unique_member

UTC = dt.UTC


def _grant_card(system, grant_id: int | None = None) -> dict:
    channel = system.services.policy.channel("approvals")

    def find() -> dict | None:
        cards = [c for c in system.standin.channel(channel) if not c.get("thread_ts") and c.get("blocks")
                 and c["blocks"][0]["text"]["text"].startswith("Temporary access G-")
                 and (grant_id is None or c["blocks"][0]["text"]["text"].endswith(f"G-{grant_id}"))]
        return cards[-1] if cards else None
    return wait_for(find, timeout=20, what="access grant card")


def _ask(system, member: dict, duration: str = "2h") -> tuple[int, dict]:
    system.slack.command(SUPPORT, f"grant {member['member_number']} {duration} ticket 4411 billing dispute <!channel>")
    card = _grant_card(system)
    return int(card["blocks"][-1]["elements"][0]["value"]), card


def _grant(system, grant_id: int) -> m.AccessGrant:
    return system.services.grants.get(grant_id)


def _thread(system, grant_id: int) -> str:
    return "\n".join(msg.get("text") or "" for msg in system.standin.thread(*system.where(f"G-{grant_id}", "card")))


def _find(system, member: dict) -> str:
    """What support's `/gdpr find` of the member answers."""
    before = len(ephemerals(system.standin, SUPPORT))
    system.slack.command(SUPPORT, f"find {member['member_number']}")
    return wait_for(lambda: next((json.dumps(e) for e in ephemerals(system.standin, SUPPORT)[before:]
                                  if "match" in e.get("text", "")), None), timeout=20, what="find answer")


def _said(system, user: str, needle: str) -> str:
    return wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, user) if needle in e["text"]), None),
                    timeout=20, what=f"'{needle}' told to {user}")


def _events(system, action: str) -> list[dict]:
    with system.services.db.session() as s:
        return [json.loads(e.details) for e in s.execute(select(m.AuditEvent).where(m.AuditEvent.action == action)
                                                         .order_by(m.AuditEvent.seq)).scalars()]


def test_grant_approve_unmasked_view_then_expiry_masks_again(system, gym) -> None:
    member = unique_member(gym)
    assert member["email"] not in _find(system, member)  # support sees members masked by default

    grant_id, card = _ask(system, member)
    investigation = card["blocks"][3]["text"]  # staff's text in plain_text: Slack shows <!channel>, never pings
    assert member["email"] not in json.dumps(card) and investigation["type"] == "plain_text"
    assert "<!channel>" in investigation["text"] and "<!channel>" not in json.dumps(card["blocks"][1])
    assert "ticket 4411" in block_texts(card) and _grant(system, grant_id).status == m.AWAITING_APPROVAL
    system.slack.click(SUPPORT, "grant.approve", str(grant_id), card["channel"], card["ts"])  # four eyes
    assert _said(system, SUPPORT, "someone else must decide")
    system.slack.click(DPO, "grant.approve", str(grant_id), card["channel"], card["ts"])
    live = wait_for(lambda: (g := _grant(system, grant_id)).status == m.APPROVED and g, timeout=20, what="approved")
    assert wait_for(lambda: "is live until" in _thread(system, grant_id), timeout=20, what="live message")

    shown = _find(system, member)
    assert member["email"] in shown and f"temporary access G-{grant_id}" in shown
    viewed = [e for e in _events(system, "subject.viewed") if e.get("unmasked_by")]
    assert [e["unmasked_by"] for e in viewed] == [f"G-{grant_id}"] and member["email"] not in json.dumps(viewed)
    with gym.connect() as conn:
        history = conn.execute(text("SELECT actor FROM member_change_log WHERE member_id = :i AND action = 'VIEW' "
                                    "AND actor LIKE 'slack:%'"), {"i": member["id"]}).scalars().all()
    assert history == [f"slack:{SUPPORT}"]

    # the scheduler's pass, an hour before the end and then after it
    end = live.expires_at.replace(tzinfo=UTC) if live.expires_at.tzinfo is None else live.expires_at
    housekeeping_pass(system.services, owner="clock", now=end - dt.timedelta(hours=1))
    assert _grant(system, grant_id).status == m.APPROVED
    housekeeping_pass(system.services, owner="clock", now=end + dt.timedelta(minutes=7))  # a late pass
    ended = _grant(system, grant_id)
    assert ended.status == m.EXPIRED and ended.end_told_at is not None
    told = _thread(system, grant_id)
    assert "expired" in told and f"<@{SUPPORT}>" in told and f"<@{DPO}>" in told
    assert f"live until {end:%d %b %H:%M} UTC" in told and f"expired at {end:%d %b %H:%M} UTC" in told  # one minute
    assert member["email"] not in _find(system, member)  # masked again
    housekeeping_pass(system.services, owner="clock", now=end + dt.timedelta(hours=1))
    assert _thread(system, grant_id).count("expired") == 1  # told once
    assert [e["grant"] for e in _events(system, "grant.expired")] == [grant_id]


def test_revoke_early_the_cap_and_one_pending_request(system, gym) -> None:
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"grant {member['member_number']} 5h ticket 4412 check a refund")
    assert _said(system, SUPPORT, "at most 4 h")  # support's cap is 4h
    assert _events(system, "access.denied")[-1]["permission"] == "grant.cap"

    grant_id, card = _ask(system, member, "30m")
    system.slack.command(SUPPORT, f"grant {member['member_number']} 1h ticket 4413 another look")
    assert _said(system, SUPPORT, "already asked")
    system.slack.click(DPO, "grant.approve", str(grant_id), card["channel"], card["ts"])
    wait_for(lambda: _grant(system, grant_id).status == m.APPROVED, timeout=20, what="approved")

    system.slack.command(COLLEAGUE, f"revoke G-{grant_id}")  # only the DPO revokes
    assert _said(system, COLLEAGUE, "Only the DPO")
    system.slack.command(SUPPORT, "grants")
    listed = wait_for(lambda: next((e for e in ephemerals(system.standin, SUPPORT) if "access grant(s)" in e["text"]),
                                   None), timeout=20, what="grants list")
    assert f"G-{grant_id}" in block_texts(listed) and member["email"] not in json.dumps(listed)
    system.slack.command(DPO, f"revoke G-{grant_id} investigation closed")
    wait_for(lambda: _grant(system, grant_id).status == m.REVOKED, timeout=20, what="revoked")
    assert wait_for(lambda: "was revoked" in _thread(system, grant_id), timeout=20, what="revoke told")
    assert member["email"] not in _find(system, member)
    system.slack.command(DPO, f"revoke G-{grant_id}")
    assert _said(system, DPO, "is not live (revoked)")
    card = _grant_card(system, grant_id)
    updated = [c for c in system.standin.calls_to("chat.update") if c.args["ts"] == card["ts"]]
    assert "revoked" in updated[-1].args["text"]
