"""Forgotten everywhere: after an access request and then an erasure of the same member, a search that
does not use the data map - every Slack message as last updated and every App Home, every file under the
test's folders (exports, outbox, work folders, Slack's stored uploads), every Redis key and value, every
row of the bot's state database - finds neither the member's number, nor their email, nor their phone.
On both backends; the proof the request reports is per store."""
from __future__ import annotations

import json
import re
from pathlib import Path

import redis as redis_lib
from sqlalchemy import inspect, text

from devslack.driver import wait_for
from gdpr.core import models as m
from gdpr.core.db import make_engine
from tests.e2e.test_erasure import rich_member
from tests.helpers import file_and_approve


def needles(member: dict) -> dict[str, str]:
    digits = re.sub(r"\D", "", member["phone"] or "")
    return {"number": member["member_number"].lower(), "email": member["email"].lower(), "phone": digits[-9:]}


def found_in(haystack: str, member: dict) -> list[str]:
    flat = haystack.lower()
    phone_digits = re.sub(r"[\s.\-/()+]", "", flat)
    hits = [name for name, value in needles(member).items() if name != "phone" and value in flat]
    return hits + (["phone"] if needles(member)["phone"] and needles(member)["phone"] in phone_digits else [])


def files_text(root: Path) -> str:
    out = []
    for path in root.rglob("*"):
        out.append(str(path.relative_to(root)))
        if path.is_file() and not path.name.startswith(("state.sqlite3", "state-only.sqlite3")):
            out.append(path.read_bytes().decode("latin-1"))
    return "\n".join(out)


def redis_text(url: str) -> str:
    client = redis_lib.Redis.from_url(url)
    out = []
    for key in client.scan_iter():
        kind = client.type(key).decode()
        out.append(key.decode("latin-1"))
        read = {"string": lambda k: client.get(k), "list": lambda k: client.lrange(k, 0, -1),
                "hash": lambda k: client.hgetall(k), "set": lambda k: client.smembers(k),
                "zset": lambda k: client.zrange(k, 0, -1)}.get(kind, lambda k: b"")
        value = read(key)
        out.append(repr(value))
    return "\n".join(out)


def state_text(url: str) -> str:
    engine = make_engine(url, immediate=False)
    try:
        out = []
        with engine.connect() as conn:
            for table in inspect(engine).get_table_names():
                out += [json.dumps({k: str(v) for k, v in row.items()}) for row in
                        conn.execute(text(f"SELECT * FROM {table}")).mappings()]
        return "\n".join(out)
    finally:
        engine.dispose()


def test_access_then_erasure_leaves_nothing_in_any_store(system, gym) -> None:
    member = rich_member(gym)
    access = system.wait_status(file_and_approve(system, "access", member["member_number"]))
    assert access.status == m.DONE
    assert found_in(system.standin.stored_text(), member) == ["number"]  # the access card named the member

    erased = system.wait_status(file_and_approve(system, "erase", member["member_number"]),
                                (m.DONE, m.NOTIFYING, m.FAILED), timeout=120)
    assert erased.status in (m.DONE, m.NOTIFYING), (erased.error, erased.result)

    channel, ts = system.where(f"R-{erased.id}", "approval")  # its card renders the end after the status is set
    wait_for(lambda: erased.status.replace("_", " ") in next(
        msg for msg in system.standin.channel(channel) if msg["ts"] == ts)["text"], timeout=20, what="the last update")
    stores = {"slack": system.standin.stored_text(), "files": files_text(system.tmp)}
    if system.settings.redis_url:
        stores["redis"] = redis_text(system.settings.redis_url)
    if system.settings.system_database_url:  # apart from the platform's: the bot's own database, all of it
        stores["state"] = state_text(system.settings.database_url)
    else:
        stores["state"] = "\n".join(state_text(system.settings.database_url).splitlines())  # both in one file
    left = {store: found_in(haystack, member) for store, haystack in stores.items()}
    assert left == {store: [] for store in stores}
    proof = erased.result["stores"]
    assert {s["store"] for s in proof} >= {"platform", "state", "slack", "files"}
    assert all(s["clean"] for s in proof), proof


def test_a_member_told_of_a_breach_is_erased_clean(system, gym) -> None:
    """Art. 34: the DPO names the member by number, the notice goes out (an .eml without SMTP); a later
    erasure of that member ends done, and neither the register nor the outbox keeps them."""
    from gdpr.breaches.targets import MemberTarget
    from tests.e2e.test_breaches import report
    member = rich_member(gym)
    with gym.connect() as conn:
        club = str(conn.execute(text("SELECT club_id FROM members WHERE id = :m"), {"m": member["id"]}).scalar())
    breach_id = report(system, clubs=[club])
    services = system.services
    dpo = services.policy.actor("U0DPO1", frozenset({"S0DPOTEAM"}))
    target = services.breach_mail.resolve(MemberTarget(numbers=(member["member_number"],)))
    services.breaches.decide_members(breach_id=breach_id, actor=dpo, notify=True, target=target, instructed=[club],
                                     reasoning="Bank details and emails together: a high risk of fraud.")
    services.breaches.send_members(breach_id=breach_id, actor=dpo, count=1)
    services.queue.member_notices(breach_id)
    wait_for(lambda: services.breaches.get(breach_id).members_done == 1, timeout=60, what="the member notice")
    outbox = system.settings.outbox_dir
    assert any(member["email"].lower() in p.read_text().lower() for p in outbox.glob("*.eml"))

    erased = system.wait_status(file_and_approve(system, "erase", member["member_number"]),
                                (m.DONE, m.NOTIFYING, m.FAILED), timeout=120)
    assert erased.status in (m.DONE, m.NOTIFYING), (erased.error, erased.result)
    assert found_in(files_text(outbox), member) == []
    assert found_in(state_text(system.settings.database_url), member) == []
    mail = next(p for p in erased.result["stores"] if p["store"] == "mail")
    assert mail["clean"] and mail["mail_deleted"] == 1


def test_with_the_state_database_apart_it_is_searched_too(pg_url, pg_empty_url, redis_url, standin, tmp_path) -> None:
    """Two databases: the proof reads the bot's own database as well (not only the platform's), and a
    planted identifier there fails the request instead of passing unseen."""
    from tests.conftest import make_system
    system = make_system("postgres+redis", pg_empty_url, standin, tmp_path, redis_url, system_database_url=pg_url)
    try:
        system.start_worker()
        engine = make_engine(pg_url, immediate=False)
        first, second = rich_member(engine), None
        with engine.connect() as conn:
            second = dict(conn.execute(text("SELECT id, member_number, email FROM members WHERE email IS NOT NULL "
                                            "AND id <> :i ORDER BY id LIMIT 1"), {"i": first["id"]}).mappings().one())
        engine.dispose()
        clean = system.wait_status(file_and_approve(system, "erase", first["member_number"]),
                                   (m.DONE, m.NOTIFYING, m.FAILED), timeout=120)
        state = next(p for p in clean.result["stores"] if p["store"] == "state")
        assert clean.status in (m.DONE, m.NOTIFYING) and state == {"store": "state", "clean": True, "hits": []}
        with system.services.db.session() as s:  # something of the second member left in the bot's own tables
            s.execute(text("UPDATE subject_requests SET reject_reason = :e WHERE id = :i"),
                      {"e": f"note: {second['email']}", "i": clean.id})
        system.slack.command("U0SUPPORT1", f"erase {second['member_number']}")
        card = system.card(request_id=clean.id + 1)
        system.slack.click("U0DPO1", "request.approve", str(clean.id + 1), card["channel"], card["ts"])
        dirty = system.wait_status(clean.id + 1, (m.DONE, m.NOTIFYING, m.FAILED), timeout=120)
        state = next(p for p in dirty.result["stores"] if p["store"] == "state")
        assert dirty.status == m.FAILED and "state" in dirty.error and state["hits"] == ["subject_requests.reject_reason:1"]
    finally:
        system.stop()
