"""Keeping a posted message (a card) current, for every presenter: `chat.update` with the thing's state as
it is now; an update Slack could not take (rate-limited past the retries, down, unreachable) is recorded
as owed in `shown_messages`, and `CatchUp` (the reconciler's tick) delivers it later by rendering the
thing again - so the card ends up showing the latest state, never a stale one forever."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)
RETRYABLE = {"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}


def update_card(services, ref: str, role: str, **message: object) -> bool:  # noqa: ANN001 - bootstrap Services
    """Update the `role` message of `ref`; False (and owed, when worth retrying) if Slack did not take it."""
    where = services.shown.where(ref, role)
    if where is None:
        return False
    try:
        services.slack.chat_update(channel=where[0], ts=where[1], **message)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        log.warning("chat.update %s/%s failed: %s", ref, role, error)
        if error in RETRYABLE or exc.response.status_code >= 500 or exc.response.status_code == 429:
            services.shown.owe(ref, role)
        return False
    except (SlackClientError, URLError, OSError) as exc:  # no answer at all: worth another try
        log.warning("chat.update %s/%s failed: %s", ref, role, type(exc).__name__)
        services.shown.owe(ref, role)
        return False
    services.shown.delivered(ref, role)
    return True


_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_GUARD = threading.Lock()


def update_latest(services, ref: str, role: str, render: Callable[[], dict], *, tries: int = 5) -> bool:  # noqa: ANN001
    """Update a card with the thing's state as it is when the update is sent, never a caller's older copy:
    one update of a card at a time in this process, each rendered at its turn; and after each, rendered
    again - a change another process made meanwhile is sent too - so two updates racing under a rate limit
    cannot leave the card a step behind (running, then queued)."""
    with _GUARD:
        lock = _LOCKS.setdefault((ref, role), threading.Lock())
    with lock:
        message = render()
        for _ in range(tries):
            if not update_card(services, ref, role, **message):
                return False
            fresh = render()
            if fresh == message:
                return True
            message = fresh
        return True


class CatchUp:
    """gdpr.ports.OwedUpdates: render each owed message again from the current state, and update it."""

    def __init__(self, services, presenters) -> None:  # noqa: ANN001 - bootstrap Services, Presenters
        self.services, self.presenters = services, presenters

    def deliver_owed(self) -> int:
        """Returns how many owed updates were delivered now."""
        owed = self.services.shown.owed()
        for ref, role in owed:
            prefix, _, number = ref.partition("-")
            try:
                self._render(prefix, int(number), role)
            except Exception as exc:  # the thing is gone, or the database blinked: the next tick tries again
                log.warning("owed update of %s/%s not delivered: %s", ref, role, type(exc).__name__)
        still = set(self.services.shown.owed())
        return len([o for o in owed if o not in still])

    def _render(self, prefix: str, item_id: int, role: str) -> None:
        s, p = self.services, self.presenters
        if prefix == "R":
            req = s.requests.get(item_id)
            p.requests.notices_changed(req) if role == "notices" else p.requests.request_changed(req)
        elif prefix == "P":
            p.bulk.bulk_changed(s.runs.get(item_id))
        elif prefix == "G":
            p.grants.grant_changed(s.grants.get(item_id))
        elif prefix == "B":
            breach = s.breaches.get(item_id)
            p.breaches.members_progress(breach, force=True) if role == "members" else p.breaches.refresh(breach)
