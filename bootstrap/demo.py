"""`gdpr-bot demo`: the whole access story on the embedded default, against the local Slack stand-in."""
from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import text

from bootstrap.runtime import Running, start
from devslack.driver import SlackDriver, wait_for
from devslack.server import SlackStandIn
from devslack.transcript import render
from gdpr.core import models as m
from gdpr.core.crypto import read_aes_zip
from gdpr.core.db import make_engine
from gdpr.core.settings import LOCAL_BOT_TOKEN, LOCAL_SIGNING_SECRET, Settings
from gym.seed import seed

SUPPORT, COLLEAGUE, DPO = "U0SUPPORT1", "U0SUPPORT2", "U0DPO1"


def pick_member(db_url: str) -> tuple[str, str]:
    """A member with a unique email and plenty of history (demo only: reads the gym directly)."""
    engine = make_engine(db_url, immediate=False)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT m.email, m.member_number FROM members m JOIN visits v ON v.member_id = m.id "
            "WHERE m.email IS NOT NULL AND m.guardian_member_id IS NULL AND m.status = 'active' "
            "AND (SELECT COUNT(*) FROM members o WHERE o.email = m.email) = 1 "
            "AND EXISTS (SELECT 1 FROM staff_notes n WHERE n.member_id = m.id) "
            "GROUP BY m.id, m.email, m.member_number ORDER BY COUNT(*) DESC LIMIT 1")).one()
    engine.dispose()
    return row[0], row[1]


def run_demo(workdir: Path = Path("var/demo"), members: int = 300, out: Callable[[str], None] = print) -> Path:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    db_url = f"sqlite:///{workdir}/gdpr.sqlite3"
    out(f"Seeding a small gym ({members} members) in {workdir}/ …")
    engine = make_engine(db_url, immediate=False)
    seed(engine, members=members, seed_value=7)
    engine.dispose()
    standin = SlackStandIn(LOCAL_BOT_TOKEN, workdir / "slack-files")
    settings = Settings(database_url=db_url, slack_api_url=standin.start(), export_dir=workdir / "exports",
                        secret_key=SecretStr(secrets.token_hex(32)), redis_url=None)
    running = start(settings)
    try:
        return _story(running, standin, db_url, out)
    finally:
        running.stop()
        standin.stop()


def _story(running: Running, standin: SlackStandIn, db_url: str, out: Callable[[str], None]) -> Path:
    slack = SlackDriver(LOCAL_SIGNING_SECRET, app=running.app)
    email, number = pick_member(db_url)
    approvals = running.services.policy.channel("approvals")
    out("\n== Sam (support) looks the member up, then asks for their data on the club's behalf")
    slack.command(SUPPORT, f"find {email}")
    wait_for(lambda: standin.calls_to("chat.postEphemeral"), what="lookup answer")
    slack.command(SUPPORT, f"access {email}")
    card = wait_for(lambda: [x for x in standin.channel(approvals) if x.get("blocks")], what="approval card")[0]
    request_id = card["blocks"][-1]["elements"][0]["value"]
    out("== Sasha (support) tries to approve: refused. Then Dana (DPO) approves.")
    slack.click(COLLEAGUE, "request.approve", request_id, approvals, card["ts"])
    wait_for(lambda: len(standin.calls_to("chat.postEphemeral")) >= 2, what="refusal")
    slack.click(DPO, "request.approve", request_id, approvals, card["ts"])
    req = wait_for(lambda: _finished(running, int(request_id)), timeout=120, what="the export job")
    assert req is not None  # wait_for returns a value only once it is truthy
    wait_for(lambda: any("done" in (c.args.get("text") or "") for c in standin.calls_to("chat.update")),
             what="the final card update")
    out("\n== Slack transcript\n")
    out(render(standin.calls))
    return _check_file(standin, req, running.services.settings.export_dir, out)


def _finished(running: Running, request_id: int) -> m.SubjectRequest | None:
    req = running.services.requests.get(request_id)
    return req if req.status in m.TERMINAL else None


def _check_file(standin: SlackStandIn, req: m.SubjectRequest, export_dir: Path, out: Callable[[str], None]) -> Path:
    if req.status != m.DONE:
        raise SystemExit(f"R-{req.id} ended {req.status}: {req.error}")
    dm = [c for c in standin.calls_to("chat.postMessage") if c.args["channel"] == f"D{SUPPORT}"][-1]
    passphrase = dm.args["text"].split("`")[3]
    uploaded = Path(standin.uploaded_files()[-1]["path"])
    contents = read_aes_zip(uploaded, passphrase)
    out("\n== Result")
    out(f"Encrypted export (AES-256 zip) as uploaded to the thread: {uploaded.resolve()}")
    out(f"Server copy (purged after EXPORT_TTL_DAYS): {(export_dir / (req.export_name or '')).resolve()}")
    out(f"Opened with the passphrase from Sam's DM: {len(contents)} files — {', '.join(sorted(contents)[:6])}, …")
    return uploaded
