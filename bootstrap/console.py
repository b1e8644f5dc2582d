"""`gdpr-bot console`: type `/gdpr ...` as a chosen Slack user and press buttons, on the embedded default."""
from __future__ import annotations

import json
import sys
import time

from sqlalchemy import inspect, text

from bootstrap.runtime import start
from devslack.driver import SlackDriver
from devslack.server import USERS, SlackStandIn
from devslack.transcript import render
from gdpr.db import make_engine
from gdpr.settings import LOCAL_BOT_TOKEN, LOCAL_SIGNING_SECRET, Settings
from gym.seed import seed

HELP = """Commands:
  as USER_ID                 act as another user ({users})
  /gdpr TEXT                 send a slash command (try /gdpr help)
  buttons                    list the buttons on the bot's messages
  click N                    press button N (Approve; Reject or Cannot tell: then `reason TEXT`)
  reason TEXT                submit the open modal with this reason
  quit"""


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
    def __init__(self, driver: SlackDriver, standin: SlackStandIn) -> None:
        self.driver, self.standin = driver, standin
        self.user = "U0SUPPORT1"
        self.seen = 0
        self.modal: tuple[str, str] | None = None  # (callback_id, private_metadata) of the open modal

    def buttons(self) -> list[tuple[str, str, str, str, str]]:
        out = []
        for channel, messages in list(self.standin.messages.items()):
            for msg in messages:
                for block in msg.get("blocks") or []:
                    for e in block.get("elements", []) if block.get("type") == "actions" else []:
                        out.append((e["text"]["text"], e["action_id"], e["value"], channel, msg["ts"]))
        return out

    def settle(self) -> None:
        """Wait until the bot has been quiet for a moment, then print what it said."""
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 0.4:
            if len(self.standin.calls) != last:
                last, quiet_since = len(self.standin.calls), time.monotonic()
            time.sleep(0.05)
        new = self.standin.calls[self.seen:]
        self.seen = len(self.standin.calls)
        for call in new:
            if call.method == "views.open":
                view = call.args["view"]
                view = view if isinstance(view, dict) else json.loads(view)
                self.modal = (view["callback_id"], view["private_metadata"])
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
            for i, (label, *_rest) in enumerate(self.buttons(), 1):
                print(f"  {i}. [{label}] on R-{_rest[1]}")
        elif line.startswith("click "):
            label, action, value, channel, ts = self.buttons()[int(line.split()[1]) - 1]
            self.driver.click(self.user, action, value, channel, ts)
        elif line.startswith("reason ") and self.modal:
            reply = self.driver.submit_view(self.user, *self.modal, {"reason": line[7:]})
            print(reply.body or "(modal closed)")
        else:
            print(HELP.format(users=", ".join(USERS)))
        self.settle()
        return True


def run_console() -> int:
    settings = Settings()
    _ensure_gym(settings.system_url)
    standin = SlackStandIn(LOCAL_BOT_TOKEN, settings.export_dir.parent / "console-slack-files")
    settings = settings.model_copy(update={"slack_api_url": standin.start(), "redis_url": None})
    running = start(settings)
    console = Console(SlackDriver(LOCAL_SIGNING_SECRET, app=running.app), standin)
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
