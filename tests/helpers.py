"""Small helpers shared by tests (no fakes of our own code)."""
from __future__ import annotations

from sqlalchemy import Engine, text

from devslack.driver import wait_for

SUPPORT, COLLEAGUE, DPO, STRANGER = "U0SUPPORT1", "U0SUPPORT2", "U0DPO1", "U0STRANGER"


def unique_member(engine: Engine, *, with_notes: bool = False, skip: int = 0) -> dict:
    """A member whose email belongs to nobody else (with `skip`, the next ones)."""
    notes = "AND EXISTS (SELECT 1 FROM staff_notes n WHERE n.member_id = m.id)" if with_notes else ""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT m.id, m.email, m.member_number, m.first_name, m.last_name, m.phone FROM members m "
            "WHERE m.email IS NOT NULL AND (SELECT COUNT(*) FROM members o WHERE o.email = m.email) = 1 "
            f"{notes} ORDER BY m.id LIMIT 1 OFFSET :skip"), {"skip": skip}).mappings().one()
    return dict(row)


def ephemerals(standin, user: str) -> list[dict]:
    return standin.channel(f"ephemeral:{user}")


def wait_ephemeral(standin, user: str, count: int = 1) -> dict:
    return wait_for(lambda: len(ephemerals(standin, user)) >= count and ephemerals(standin, user)[count - 1],
                    timeout=20, what=f"ephemeral #{count} for {user}")


def block_texts(msg: dict) -> str:
    out = []
    for b in msg.get("blocks") or []:
        for key in ("text",):
            if isinstance(b.get(key), dict):
                out.append(b[key]["text"])
        for f in b.get("fields") or []:
            out.append(f["text"])
        for e in b.get("elements") or []:
            if isinstance(e.get("text"), dict):
                out.append(e["text"]["text"])
            elif isinstance(e.get("text"), str):
                out.append(e["text"])
    return "\n".join(out) + "\n" + (msg.get("text") or "")


def file_and_approve(system, kind: str, identity: str, *, requester: str = SUPPORT) -> int:
    """`/gdpr <kind> <identity>` as the requester, then Approve as the DPO; returns the request id."""
    system.slack.command(requester, f"{kind} {identity}")
    card = system.card(kind=kind.split()[0])
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    return request_id


def add_visits(engine: Engine, member_id: int, count: int, *, first_id: int) -> None:
    """Grow one member's history: one visit every half hour from 2015 (PostgreSQL makes the rows itself)."""
    import datetime as dt

    from sqlalchemy import text

    from gym import schema
    from gym.seed import add_rows
    start = dt.datetime(2015, 1, 1)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO visits (id, member_id, club_id, checked_in_at, checked_out_at) "
                              "SELECT :first + i, :member, 1, :start + i * interval '30 minutes', NULL "
                              "FROM generate_series(0, :count - 1) AS i"),
                         {"first": first_id, "member": member_id, "start": start, "count": count})
        return
    add_rows(engine, schema.visits, ((first_id + i, member_id, 1, start + dt.timedelta(minutes=30 * i), None)
                                     for i in range(count)))


def config_copy(source, dest, *, retention: dict | None = None):
    """A copy of config/ with retention.yaml's settings (or whole sections) replaced."""
    import shutil

    import yaml
    shutil.copytree(source, dest)
    if retention:
        path = dest / "retention.yaml"
        doc = yaml.safe_load(path.read_text())
        for key, value in retention.items():
            if key == "settings":
                doc["settings"].update(value)
            else:
                doc[key] = value
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest


def lead_identifiers(engine: Engine, where: str) -> set[str]:
    """The emails and phones of the leads `where` selects (test-side only: the product never keeps them).
    Names are left out: other people carry the same names, and those must stay."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT email, phone FROM crm_leads WHERE {where}")).all()
    return {str(v).lower() for row in rows for v in row if v and len(str(v)) >= 5}


def text_values_containing(engine: Engine, values: set[str]) -> int:
    """How many values of `values` still appear as a whole text value anywhere in the database."""
    from sqlalchemy import String, Text, inspect
    found: set[str] = set()
    insp = inspect(engine)
    with engine.connect() as conn:
        for tname in insp.get_table_names():
            for col in insp.get_columns(tname):
                if isinstance(col["type"], (String, Text)):
                    rows = conn.execute(text(f"SELECT DISTINCT lower({col['name']}) FROM {tname} "
                                             f"WHERE {col['name']} IS NOT NULL"))
                    found |= {v for (v,) in rows} & values
    return len(found)


def cutoff_sql(days: int) -> str:
    """'now minus days' as the naive UTC text both databases compare timestamps with."""
    import datetime as dt
    return (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")


def bulk_card(system, run_id: int | None = None) -> dict:
    """The latest bulk run card in the DPO channel (or run_id's)."""
    channel = system.services.policy.channel("approvals")

    def find() -> dict | None:
        cards = [c for c in system.standin.channel(channel)
                 if c.get("blocks") and c["blocks"][0]["text"]["text"].startswith(("CRM purge", "Retention", "Offboarding"))
                 and (run_id is None or f"P-{run_id}" in c["blocks"][0]["text"]["text"])]
        return cards[-1] if cards else None
    return wait_for(find, timeout=30, what="bulk run card")


def within_block_kit(msg: dict) -> list[str]:
    """What in a message breaks Slack's Block Kit limits (empty when it would be accepted)."""
    found, blocks = [], msg.get("blocks") or []
    if len(blocks) > 50:
        found.append(f"{len(blocks)} blocks (at most 50)")
    if len(msg.get("text") or "") > 40000:
        found.append("text over 40,000 characters")
    for b in blocks:
        if b["type"] == "section" and len((b.get("text") or {}).get("text", "")) > 3000:
            found.append("a section over 3,000 characters")
        if b["type"] == "section" and (len(b.get("fields") or []) > 10 or any(len(f["text"]) > 2000 for f in b.get("fields") or [])):
            found.append("section fields over their limits")
        if b["type"] == "header" and len(b["text"]["text"]) > 150:
            found.append("a header over 150 characters")
        if b["type"] == "context" and len(b["elements"]) > 10:
            found.append("a context with more than 10 elements")
        if b["type"] == "actions" and (len(b["elements"]) > 25 or any(len(e.get("value", "")) > 2000 for e in b["elements"])):
            found.append("actions over their limits")
    return found
