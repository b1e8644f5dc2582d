"""Signed requests as Slack would send them, to the Bolt app in-process or over HTTP."""
from __future__ import annotations

import itertools
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from slack_bolt import App
from slack_sdk.signature import SignatureVerifier

_trigger = itertools.count(1)

T = TypeVar("T")


def sign(secret: str, body: str, timestamp: str | None = None) -> dict[str, str]:
    """Headers as Slack signs a request (slack_sdk's SignatureVerifier computes the signature)."""
    ts = timestamp or str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"x-slack-request-timestamp": ts, "x-slack-signature": signature or "",
            "content-type": "application/x-www-form-urlencoded"}


@dataclass
class Reply:
    status: int
    body: str

    @property
    def json(self) -> dict:
        return json.loads(self.body) if self.body else {}


class SlackDriver:
    """Plays a person in Slack: slash commands, button clicks, modal submissions, all signed."""

    def __init__(self, secret: str, *, app: App | None = None, url: str | None = None) -> None:
        self.secret, self.app, self.url = secret, app, url

    def send(self, body: str, headers: dict[str, str] | None = None) -> Reply:
        headers = headers or sign(self.secret, body)
        if self.url:
            req = urllib.request.Request(self.url, data=body.encode(), headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return Reply(resp.status, resp.read().decode())
            except urllib.error.HTTPError as exc:
                return Reply(exc.code, exc.read().decode())
        from slack_bolt import BoltRequest
        assert self.app is not None, "a driver sends to an app in this process, or to a URL"
        resp = self.app.dispatch(BoltRequest(body=body, headers={k: [v] for k, v in headers.items()}))
        return Reply(resp.status, resp.body)

    def command(self, user: str, text: str, channel: str = "C0SUPPORT") -> Reply:
        return self.send(command_body(user, text, channel))

    def event(self, event: dict) -> Reply:
        """An Events API callback (e.g. {"type": "app_home_opened", "user": ..., "tab": "home"}), signed."""
        body = json.dumps({"type": "event_callback", "team_id": "T0GYM", "api_app_id": "A0GDPR",
                           "event_id": f"Ev{next(_trigger):08d}", "event_time": int(time.time()), "event": event})
        return self.send(body, {**sign(self.secret, body), "content-type": "application/json"})

    def click(self, user: str, action_id: str, value: str, channel: str, message_ts: str) -> Reply:
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T0GYM"},
                   "trigger_id": f"trigger-{next(_trigger)}", "channel": {"id": channel},
                   "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
                   "message": {"ts": message_ts}, "api_app_id": "A0GDPR",
                   "actions": [{"type": "button", "action_id": action_id, "block_id": f"decide-{value}",
                                "value": value, "action_ts": str(time.time())}]}
        return self.send(urlencode({"payload": json.dumps(payload)}))

    def submit_view(self, user: str, callback_id: str, private_metadata: str, values: dict) -> Reply:
        """Text inputs as strings; any other element as its raw state dict (selected_options, ...)."""
        state = {block: {"value": v if isinstance(v, dict) else {"type": "plain_text_input", "value": v}}
                 for block, v in values.items()}
        payload = {"type": "view_submission", "user": {"id": user}, "team": {"id": "T0GYM"}, "api_app_id": "A0GDPR",
                   "trigger_id": f"trigger-{next(_trigger)}",
                   "view": {"id": "V0", "type": "modal", "callback_id": callback_id,
                            "private_metadata": private_metadata, "state": {"values": state}}}
        return self.send(urlencode({"payload": json.dumps(payload)}))


def wait_for(condition: Callable[[], T], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll a condition until it holds (the bot works asynchronously after its ack): soon at first, then every
    0.1 s (a condition is often a query; the suite polls in several workers at once on two cores)."""
    deadline, pause = time.monotonic() + timeout, 0.01
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(pause)
        pause = min(pause * 1.5, 0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def command_body(user: str, text: str, channel: str = "C0SUPPORT") -> str:
    return urlencode({"token": "unused", "team_id": "T0GYM", "team_domain": "gym", "channel_id": channel,
                      "channel_name": "support", "user_id": user, "user_name": user.lower(), "command": "/gdpr",
                      "text": text, "api_app_id": "A0GDPR", "response_url": "https://hooks.invalid/commands/1",
                      "trigger_id": f"trigger-{next(_trigger)}"})
