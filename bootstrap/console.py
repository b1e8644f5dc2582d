"""`gdpr-bot console`: type `/gdpr ...` as a chosen Slack user and press buttons, on the embedded default."""
from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable

from sqlalchemy import func, inspect, select, text

from bootstrap.runtime import start
from devslack.driver import SlackDriver
from devslack.server import USERS, SlackStandIn
from devslack.transcript import render
from gdpr.core import models as m
from gdpr.core.db import Database, make_engine
from gdpr.core.settings import LOCAL_BOT_TOKEN, LOCAL_SIGNING_SECRET, Settings
from gym.seed import seed

HELP = """Commands:
  as USER_ID                 act as another user ({users})
  /gdpr TEXT                 send a slash command (try /gdpr help)
  buttons                    list the buttons on the bot's messages
  click N                    press button N (Approve; Reject or Cannot tell: then `reason TEXT`)
  reason TEXT                submit the open modal with this reason
  form                       show the open modal's fields (a breach report, an update, a close-out)
  set FIELD VALUE            fill a field: text, a number, choices comma-separated, a time as
                             2026-12-06T09:30 or -30h (hours ago)
  submit                     submit the open modal
  quit"""
REFS = {"request": "R-", "bulk": "P-", "breach": "B-", "grant": "G-", "notice": "notice ", "page": "page "}


def _ensure_gym(url: str) -> None:
    engine = make_engine(url, immediate=False)
    empty = "members" not in inspect(engine).get_table_names()
    if not empty:
        with engine.connect() as conn:
            empty = conn.execute(text("SELECT COUNT(*) FROM members")).scalar() == 0
    if empty:
        print("Seeding a small reference gym (300 members)…")
        seed(engine, members=300, seed_value=7)
    engine.dispose()


class Console:
    MAX_WAIT_S = 120.0  # a job that runs longer is shown when it ends, after the next command

    def __init__(self, driver: SlackDriver, standin: SlackStandIn, busy: Callable[[], bool] = lambda: False) -> None:
        """`busy()`: whether an approved job is queued or running (its messages are still to come)."""
        self.driver, self.standin, self.busy = driver, standin, busy
        self.user = "U0SUPPORT1"
        self.seen = 0
        self.modal: tuple[str, str] | None = None  # (callback_id, private_metadata) of the open modal
        self.fields: dict[str, dict] = {}  # the open modal's inputs by block id
        self.filled: dict[str, object] = {}

    def buttons(self) -> list[tuple[str, str, str, str, str]]:
        out = []
        for channel, messages in list(self.standin.messages.items()):
            for msg in messages:
                for block in msg.get("blocks") or []:
                    for e in block.get("elements", []) if block.get("type") == "actions" else []:
                        out.append((e["text"]["text"], e["action_id"], e["value"], channel, msg["ts"]))
        return out

    def _state(self) -> dict[str, object]:
        """What Slack would send for the filled fields (and the initial values of the others)."""
        out: dict[str, object] = {}
        for block_id, block in self.fields.items():
            element, value = block["element"], str(self.filled.get(block_id, ""))
            kind = element["type"]
            if kind == "datetimepicker":
                out[block_id] = {"type": kind, "selected_date_time": _when(value) if value else element.get("initial_date_time")}
            elif kind in ("checkboxes", "multi_static_select"):
                out[block_id] = {"type": kind, "selected_options": [{"value": v.strip()} for v in value.split(",") if v.strip()]}
            elif kind == "number_input":
                out[block_id] = {"type": kind, "value": value or None}
            else:
                out[block_id] = value or element.get("initial_value", "")
        return out

    def settle(self) -> None:
        """Wait until the bot has been quiet for a moment and no job it started is still queued or running (on a
        busy machine an export can pause longer than the quiet moment), then print what it said."""
        last, quiet_since, started = -1, time.monotonic(), time.monotonic()
        while True:
            if len(self.standin.calls) != last:
                last, quiet_since = len(self.standin.calls), time.monotonic()
            if time.monotonic() - quiet_since >= 0.4 and (
                    time.monotonic() - started > self.MAX_WAIT_S or not self.busy()):
                break
            time.sleep(0.05)
        new = self.standin.calls[self.seen:]
        self.seen = len(self.standin.calls)
        for call in new:
            if call.method == "views.open":
                view = call.args["view"]
                view = view if isinstance(view, dict) else json.loads(view)
                self.modal = (view["callback_id"], view["private_metadata"])
                self.fields = {b["block_id"]: b for b in view.get("blocks", []) if b.get("type") == "input"}
                self.filled = {}
                print(f"(a form is open: `form` shows its {len(self.fields)} field(s), `set` fills one, `submit` sends it)"
                      if len(self.fields) > 1 else "")
        if new:
            print(render(new))

    def handle(self, line: str) -> bool:
        if line in ("quit", "exit"):
            return False
        if line.startswith("as "):
            self.user = line.split()[1]
            print(f"You are now {USERS.get(self.user, self.user)} ({self.user}).")
        elif line.startswith("/gdpr"):
            reply = self.driver.command(self.user, line[len("/gdpr"):].strip())
            print(f"[only visible to you] {reply.json.get('text', '') if reply.body.startswith('{') else reply.body}")
        elif line == "buttons":
            for i, (label, action, value, *_rest) in enumerate(self.buttons(), 1):
                print(f"  {i}. [{label}] on {REFS.get(action.split('.')[0], '')}{value}")
        elif line.startswith("click "):
            buttons, number = self.buttons(), line.split()[1] if len(line.split()) > 1 else ""
            if not number.isdigit() or not 1 <= int(number) <= len(buttons):
                print(f"There is no button {number[:10]}: `buttons` lists the {len(buttons)} there are.")
                return True
            label, action, value, channel, ts = buttons[int(number) - 1]
            self.driver.click(self.user, action, value, channel, ts)
        elif line.startswith("reason ") and self.modal:
            reply = self.driver.submit_view(self.user, *self.modal, {"reason": line[7:]})
            print(reply.body or "(modal closed)")
        elif line == "form" and self.modal:
            for block_id, block in self.fields.items():
                element, got = block["element"], self.filled.get(block_id, "")
                options = ", ".join(o["value"] for o in element.get("options", []))
                print(f"  {block_id}: {block['label']['text']} [{element['type']}]" + (f" one or more of: {options}"
                      if options else "") + (f"  = {got}" if got else "") + (" (optional)" if block.get("optional") else ""))
        elif line.startswith("set ") and self.modal:
            field, _, value = line[4:].partition(" ")
            if field not in self.fields:
                print(f"The form has no field `{field[:30]}`: `form` lists them.")
            else:
                self.filled[field] = value.strip()
        elif line == "submit" and self.modal:
            reply = self.driver.submit_view(self.user, *self.modal, self._state())
            errors = (reply.json or {}).get("errors") if reply.body.startswith("{") else None
            print("The form is not accepted: " + "; ".join(f"{k}: {v}" for k, v in errors.items()) if errors
                  else reply.body or "(modal closed)")
        else:
            print(HELP.format(users=", ".join(USERS)))
        self.settle()
        return True


def _when(value: str) -> int:
    """-30h (hours ago) or an ISO date and time (UTC) as Slack's epoch seconds."""
    import datetime as dt
    now = dt.datetime.now(dt.UTC)
    if value.startswith("-") and value.endswith("h") and value[1:-1].isdigit():
        return int((now - dt.timedelta(hours=int(value[1:-1]))).timestamp())
    try:
        return int(dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp())
    except ValueError:
        return int(now.timestamp())


def _jobs_under_way(db: Database) -> bool:
    r = m.SubjectRequest
    with db.session() as s:
        return bool(s.scalar(select(func.count()).select_from(r).where(r.status.in_((m.APPROVED, m.QUEUED, m.RUNNING)))))


def run_console() -> int:
    settings = Settings()
    _ensure_gym(settings.system_url)
    standin = SlackStandIn(LOCAL_BOT_TOKEN, settings.export_dir.parent / "console-slack-files")
    settings = settings.model_copy(update={"slack_api_url": standin.start(), "redis_url": None})
    running = start(settings)
    console = Console(SlackDriver(LOCAL_SIGNING_SECRET, app=running.app), standin,
                      busy=functools.partial(_jobs_under_way, running.services.db))
    print(HELP.format(users=", ".join(USERS)))
    print(f"You are {USERS[console.user]} ({console.user}).")
    try:
        for line in sys.stdin:
            if not console.handle(line.strip()):
                break
            print("> ", end="", flush=True)
    finally:
        running.stop()
        standin.stop()
    return 0
