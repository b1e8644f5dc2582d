"""The Slack presenter of breaches (gdpr.core.ports.BreachPresenter): the alert (kept current), reminders in its
thread, the Art. 34 preview, member-notice progress, the close-out summary."""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.cards import Cards
from bot.render import escape, mrkdwn
from bot.render_breach import alert_blocks, members_preview, reminder_blocks
from bot.render_bulk import progress_bar
from gdpr.app.breaches import AlertView, BreachViews
from gdpr.breaches.config import BreachConfig
from gdpr.breaches.service import REF
from gdpr.core import models as m

log = logging.getLogger(__name__)


ALERT, MEMBERS = "alert", "members"  # a breach's messages, by role


class BreachSlackDelivery:
    """Renders what `views` reads (the alert's view model); posts and updates through `cards`. It writes
    nothing to the register: the response channel it opens is returned to the use case, which records it."""

    def __init__(self, slack: WebClient, cards: Cards, views: BreachViews, config: BreachConfig) -> None:
        self.slack, self.cards, self.views, self.config = slack, cards, views, config
        self._last_progress = 0.0

    def where(self, breach: m.Breach, role: str = ALERT) -> tuple[str, str] | None:
        return self.cards.where(f"{REF}{breach.id}", role)

    def alert(self, breach: m.Breach, now: dt.datetime | None) -> list[dict]:
        return render_alert(self.views.alert(breach, now))

    def post_alert(self, breach: m.Breach) -> str | None:
        """To the breach channel; and, if configured, a channel of its own for the response (returned)."""
        config = self.config
        resp = self.slack.chat_postMessage(channel=config.channel, text=f"Personal data breach {REF}{breach.id}",
                                           blocks=self.alert(breach, None))
        self.cards.remember(f"{REF}{breach.id}", ALERT, resp)
        if not config.dedicated_channel:
            return None
        created = self.slack.conversations_create(name=f"breach-b{breach.id}", is_private=True)
        channel: str = created["channel"]["id"]
        people = {breach.reported_by}
        if config.escalate_to:
            people |= set(self.slack.usergroups_users_list(usergroup=config.escalate_to).get("users", []))
        self.slack.conversations_invite(channel=channel, users=",".join(sorted(people)))
        self.slack.chat_postMessage(channel=channel, text=f"Response channel for {REF}{breach.id}; the alert "
                                                          f"and its clock are in <#{config.channel}>.")
        return channel

    def refresh(self, breach: m.Breach, now: dt.datetime | None = None) -> None:
        """The alert as the breach is now. Notices are delivered in parallel, so an older rendering can land
        after a newer one: after writing, render again and write once more if the state moved on meanwhile."""
        if self.where(breach) is None:
            return
        self.cards.update_latest(f"{REF}{breach.id}", ALERT, lambda: {
            "blocks": render_alert(self.views.alert(breach.id, now)), "text": f"Personal data breach {REF}{breach.id}"})

    def reminder(self, breach: m.Breach, reminder: m.BreachReminder, now: dt.datetime) -> bool:
        """In the alert's thread, broadcast; False when the alert is not posted yet (the reminder stays due)."""
        view = self.views.alert(breach, now)
        blocks = reminder_blocks(breach, reminder, view.deadline, now, self.config.escalate_to, view.unnotified)
        if self._thread(breach, blocks=blocks, text=f"{REF}{breach.id}: {reminder.mark_hours}-hour reminder",
                        reply_broadcast=True) is None:
            return False
        self.refresh(breach, now)
        return True

    def members_preview(self, breach: m.Breach, count: int) -> None:
        """The count the DPO approves (Send) before any member is mailed."""
        self._thread(breach, text=f"Art. 34 preview for {REF}{breach.id}: {count} member(s)",
                     blocks=members_preview(breach, count, self.views.clubs(breach)))

    def closed(self, breach: m.Breach, *, by: str, clubs_told: int, remedial: str, reasoning: str) -> None:
        summary = (f":white_check_mark: {REF}{breach.id} closed by <@{by}>. Clubs notified: {clubs_told} of "
                   f"{len(breach.clubs)}. Risk: {breach.risk.replace('_', ' ')}. Members told: {breach.members_done:,}.")
        self._thread(breach, reply_broadcast=True, text=summary, blocks=[  # the mention and emoji drawn; their text not parsed
            {"type": "section", "text": mrkdwn(summary)},
            {"type": "section", "text": mrkdwn(f"*Remedial actions:* {escape(remedial)[:1400]}\n"
                                               f"*Reasoning:* {escape(reasoning)[:1400]}")}])

    def members_progress(self, breach: m.Breach, force: bool = False) -> None:
        """A thread message with a bar, updated at most once a second (and always at the end)."""
        final = breach.members_status == "done"
        if not (final or force) and time.monotonic() - self._last_progress < 1.0:
            return
        self._last_progress = time.monotonic()
        text = (f"Member notices (Art. 34) for {REF}{breach.id}: {progress_bar(breach.members_done, breach.members_total)}"
                f" · {breach.members_done:,} / {breach.members_total:,}" + (" · done" if final else ""))
        shown = self.where(breach, MEMBERS)
        if shown:
            self.cards.update(f"{REF}{breach.id}", MEMBERS, text=text)
        else:
            self.cards.post_once(f"{REF}{breach.id}", MEMBERS, lambda: self._thread(breach, text=text))
        if final:
            self.refresh(breach)

    def _thread(self, breach: m.Breach, **message: Any) -> SlackResponse | None:
        """A message in the alert's thread (nothing when the alert was never posted)."""
        alert = self.where(breach)
        if alert is None:
            log.warning("B-%s has no alert to reply to", breach.id)
            return None
        return self.slack.chat_postMessage(channel=alert[0], thread_ts=alert[1], **message)


def render_alert(view: AlertView) -> list[dict]:
    return alert_blocks(view.breach, view.notices, view.clubs, view.deadline, view.now)
