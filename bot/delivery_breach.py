"""The Slack presenter of breaches (gdpr.ports.BreachPresenter): the alert (kept current), reminders in its
thread, the Art. 34 preview, member-notice progress, the close-out summary."""
from __future__ import annotations

import datetime as dt
import logging
import time

from slack_sdk.errors import SlackApiError

from bot.render import plain
from bot.render_breach import alert_blocks, members_preview, reminder_blocks
from bot.render_bulk import progress_bar
from gdpr import models as m
from gdpr.breaches import REF

log = logging.getLogger(__name__)


class BreachSlackDelivery:
    def __init__(self, services) -> None:  # noqa: ANN001 - bootstrap.compose.Services
        self.s = services
        self._last_progress = 0.0

    def alert(self, breach: m.Breach, now: dt.datetime | None) -> list[dict]:
        return alert_blocks(breach, self.s.breaches.notices(breach.id), self.s.breach_mail.clubs(breach.clubs),
                            self.s.breaches.deadline(breach), now or self.s.breaches.clock())

    def post_alert(self, breach: m.Breach) -> None:
        """To the breach channel; and, if configured, a channel of its own for the response."""
        config = self.s.breach_config
        resp = self.s.slack.chat_postMessage(channel=config.channel, text=f"Personal data breach {REF}{breach.id}",
                                             blocks=self.alert(breach, None))
        self.s.breaches.alert_posted(breach_id=breach.id, channel_id=resp["channel"], message_ts=resp["ts"])
        if config.dedicated_channel:
            created = self.s.slack.conversations_create(name=f"breach-b{breach.id}", is_private=True)
            channel = created["channel"]["id"]
            people = {breach.reported_by}
            if config.escalate_to:
                people |= set(self.s.slack.usergroups_users_list(usergroup=config.escalate_to).get("users", []))
            self.s.slack.conversations_invite(channel=channel, users=",".join(sorted(people)))
            self.s.slack.chat_postMessage(channel=channel, text=f"Response channel for {REF}{breach.id}; the alert "
                                                                f"and its clock are in <#{config.channel}>.")
            self.s.breaches.record(breach.id, "gdpr-bot", "channel", f"Response channel <#{channel}> opened.")

    def refresh(self, breach: m.Breach, now: dt.datetime | None = None) -> None:
        if not breach.channel_id or not breach.message_ts:
            return
        try:
            self.s.slack.chat_update(channel=breach.channel_id, ts=breach.message_ts, blocks=self.alert(breach, now),
                                     text=f"Personal data breach {REF}{breach.id}")
        except SlackApiError as exc:
            log.warning("chat.update B-%s failed: %s", breach.id, exc.response.get("error"))

    def reminder(self, breach: m.Breach, reminder: m.BreachReminder, now: dt.datetime) -> None:
        clubs = {c.key: c.code for c in self.s.breach_mail.clubs(breach.clubs)}
        sent = {n.club_id for n in self.s.breaches.notices(breach.id) if n.status == "sent"}
        unnotified = [clubs.get(k, k) for k in breach.clubs if k not in sent]
        blocks = reminder_blocks(breach, reminder, self.s.breaches.deadline(breach), now,
                                 self.s.breach_config.escalate_to, unnotified)
        self.s.slack.chat_postMessage(channel=breach.channel_id, thread_ts=breach.message_ts, blocks=blocks,
                                      text=f"{REF}{breach.id}: {reminder.mark_hours}-hour reminder", reply_broadcast=True)
        self.refresh(breach, now)

    def members_preview(self, breach: m.Breach, count: int) -> None:
        """The count the DPO approves (Send) before any member is mailed."""
        self.s.slack.chat_postMessage(channel=breach.channel_id, thread_ts=breach.message_ts,
                                      text=f"Art. 34 preview for {REF}{breach.id}: {count} member(s)",
                                      blocks=members_preview(breach, count, self.s.breach_mail.clubs(breach.clubs)))

    def closed(self, breach: m.Breach, *, by: str, clubs_told: int, remedial: str, reasoning: str) -> None:
        summary = (f":white_check_mark: {REF}{breach.id} closed by <@{by}>. Clubs notified: {clubs_told} of "
                   f"{len(breach.clubs)}. Risk: {breach.risk.replace('_', ' ')}. Members told: {breach.members_done:,}.")
        self.s.slack.chat_postMessage(channel=breach.channel_id, thread_ts=breach.message_ts, reply_broadcast=True,
                                      text=summary, blocks=[{"type": "section", "text": plain(
                                          summary + f"\nRemedial actions: {remedial}\nReasoning: {reasoning}")}])

    def members_progress(self, breach: m.Breach) -> None:
        """A thread message with a bar, updated at most once a second (and always at the end)."""
        final = breach.members_status == "done"
        if not final and time.monotonic() - self._last_progress < 1.0:
            return
        self._last_progress = time.monotonic()
        text = (f"Member notices (Art. 34) for {REF}{breach.id}: {progress_bar(breach.members_done, breach.members_total)}"
                f" · {breach.members_done:,} / {breach.members_total:,}" + (" · done" if final else ""))
        if breach.members_ts:
            self.s.slack.chat_update(channel=breach.channel_id, ts=breach.members_ts, text=text)
        else:
            resp = self.s.slack.chat_postMessage(channel=breach.channel_id, thread_ts=breach.message_ts, text=text)
            self.s.breaches.members_progress(breach_id=breach.id, ts=resp["ts"])
        if final:
            self.refresh(breach)
