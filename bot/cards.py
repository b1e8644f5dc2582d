"""Keeping a posted message (a card) current, for every presenter: `chat.update` with the thing's state as
it is now; an update Slack could not take (rate-limited past the retries, down, unreachable) is recorded
as owed in `shown_messages`, and `CatchUp` (the reconciler's tick) delivers it later by rendering the
thing again - so the card ends up showing the latest state, never a stale one forever."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from gdpr.core import models as m
from gdpr.core.ports import Presenters
from gdpr.core.shown import ShownMessages

log = logging.getLogger(__name__)
RETRYABLE = {"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}


class Cards:
    """The posted messages of every presenter, by reference (R-12, P-3, B-1, G-4) and role (approval,
    request, alert, ...): where each is (`shown_messages`), and keeping each current."""

    STRIPES = 64  # one update of a card at a time in this process: a fixed pool of locks, by the card's hash

    def __init__(self, slack: WebClient, shown: ShownMessages) -> None:
        self.slack, self.shown = slack, shown
        self._locks = [threading.Lock() for _ in range(self.STRIPES)]

    def where(self, ref: str, role: str) -> tuple[str, str] | None:
        return self.shown.where(ref, role)

    def remember(self, ref: str, role: str, posted: SlackResponse | tuple[str, str]) -> None:
        """Where a message was posted: Slack's answer to the post, or (channel, ts)."""
        where = posted if isinstance(posted, tuple) else (posted["channel"], posted["ts"])
        self.shown.remember(ref, role, where)

    def post_once(self, ref: str, role: str, post: Callable[[], SlackResponse | None]) -> None:
        """Post the `role` message of `ref` once, though deliveries in other threads or processes want it at the
        same moment (a thread's recipients, a progress bar): the one that claims it posts; the others leave it
        owed, so the catch-up renders the latest state into it once it is posted. A post that fails frees it."""
        if not self.shown.claim(ref, role):
            self.shown.owe(ref, role)
            return
        try:
            posted = post()
        except BaseException:
            self.shown.release(ref, role)
            raise
        if posted is None:
            self.shown.release(ref, role)
        else:
            self.remember(ref, role, posted)

    def update(self, ref: str, role: str, **message: Any) -> bool:
        """Update the `role` message of `ref`; False (and owed, when worth retrying) if Slack did not take it."""
        where = self.shown.where(ref, role)
        if where is None:
            return False
        try:
            self.slack.chat_update(channel=where[0], ts=where[1], **message)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            log.warning("chat.update %s/%s failed: %s", ref, role, error)
            if error in RETRYABLE or exc.response.status_code >= 500 or exc.response.status_code == 429:
                self.shown.owe(ref, role)
            return False
        except (SlackClientError, URLError, OSError) as exc:  # no answer at all: worth another try
            log.warning("chat.update %s/%s failed: %s", ref, role, type(exc).__name__)
            self.shown.owe(ref, role)
            return False
        self.shown.delivered(ref, role)
        return True

    def update_latest(self, ref: str, role: str, render: Callable[[], dict], *, tries: int = 5) -> bool:
        """Update a card with the thing's state as it is when the update is sent, never a caller's older copy:
        one update of a card at a time in this process, each rendered at its turn; and after each, rendered
        again - a change another process made meanwhile is sent too - so two updates racing under a rate limit
        cannot leave the card a step behind (running, then queued)."""
        with self._locks[hash((ref, role)) % self.STRIPES]:
            message = render()
            for _ in range(tries):
                if not self.update(ref, role, **message):
                    return False
                fresh = render()
                if fresh == message:
                    return True
                message = fresh
            return True


@dataclass(frozen=True)
class Loaders:
    """How CatchUp reads a thing again by id, to render its owed card from the current state."""

    request: Callable[[int], m.SubjectRequest]
    run: Callable[[int], m.BulkRun]
    grant: Callable[[int], m.AccessGrant]
    breach: Callable[[int], m.Breach]


class CatchUp:
    """gdpr.core.ports.OwedUpdates: render each owed message again from the current state, and update it."""

    def __init__(self, shown: ShownMessages, load: Loaders, presenters: Presenters | None = None) -> None:
        self.shown, self.load, self.presenters = shown, load, presenters

    def deliver_owed(self) -> int:
        """Returns how many owed updates were delivered now."""
        owed = self.shown.owed()
        for ref, role in owed:
            prefix, _, number = ref.partition("-")
            try:
                self._render(prefix, int(number), role)
            except Exception as exc:  # the thing is gone, or the database blinked: the next tick tries again
                log.warning("owed update of %s/%s not delivered: %s", ref, role, type(exc).__name__)
        still = set(self.shown.owed())
        return len([o for o in owed if o not in still])

    def _render(self, prefix: str, item_id: int, role: str) -> None:
        p, load = self.presenters, self.load
        assert p is not None, "the composition root hands CatchUp the presenters it catches up for"
        if prefix == "R":
            req = load.request(item_id)
            p.requests.notices_changed(req) if role == "notices" else p.requests.request_changed(req)
        elif prefix == "P":
            p.bulk.bulk_changed(load.run(item_id))
        elif prefix == "G":
            p.grants.grant_changed(load.grant(item_id))
        elif prefix == "B":
            breach = load.breach(item_id)
            p.breaches.members_progress(breach, force=True) if role == "members" else p.breaches.refresh(breach)
