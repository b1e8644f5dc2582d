"""What the four-eyes buttons and reason modals of requests and bulk runs share on Slack: which item a
button names, Approve (after the ack, with one answer when the queue is down), Reject (checked at once,
then a modal asks the reason; the trigger_id expires 3 s after the click), and the reason's submission."""
from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.deps import Bot
from bot.slack_io import dm_channel, ephemeral
from gdpr.core.access import Actor
from gdpr.core.errors import GdprError, NotFound

MIN_REASON = 5


def item_id_of(body: dict, what: str, missing: type[NotFound] = NotFound) -> int:
    """The id a button carries (its value), or `missing` saying the button belongs to no `what`."""
    value = (body.get("actions") or [{}])[0].get("value", "")
    if not value.isdigit():
        raise missing(f"That button does not belong to a {what}.")
    return int(value)


def approve_later(ack: Ack, body: dict, client: WebClient, bot: Bot, *, item_id: int, ref: str,
                  approve: Callable[[Actor, int], bool]) -> None:
    """Ack, then `approve(actor, item_id)` on the follow-up pool; False means approved but not queued."""
    ack()
    d = bot
    user, channel = body["user"]["id"], body["channel"]["id"]

    def work() -> None:
        actor = d.actor(user)
        if not approve(actor, item_id):
            ephemeral(client, channel=channel, user=user,
                      text=f":warning: {ref}{item_id} is approved, but the job queue is unreachable right now. "
                           "It is recorded and will start automatically when the queue is back.")
    d.followups.submit(work, user=user, channel=channel)


def ask_reason(ack: Ack, body: dict, client: WebClient, bot: Bot, *, item_id: int,
               check: Callable[[Actor, int], object], modal: dict) -> None:
    """`check(actor, item_id)` now (may they decide, still undecided?), then the reason modal."""
    ack()
    check(bot.actor(body["user"]["id"]), item_id)
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def read_reason(ack: Ack, view: dict) -> str | None:
    """The modal's reason, or None after answering the modal with an inline error."""
    reason = (view["state"]["values"].get("reason", {}).get("value", {}).get("value") or "").strip()
    if len(reason) < MIN_REASON:
        ack(response_action="errors", errors={"reason": f"Give a reason of at least {MIN_REASON} characters."})
        return None
    ack()
    return reason


def reject_with_reason(ack: Ack, body: dict, view: dict, client: WebClient, bot: Bot,
                       reject: Callable[[Actor, int, str], object]) -> None:
    """A reject modal's submission: the reason checked in the modal, `reject(actor, id, reason)` after the ack;
    a refusal is answered by DM (a modal has no channel)."""
    reason = read_reason(ack, view)
    if reason is None:
        return
    d = bot
    user, item_id = body["user"]["id"], int(view["private_metadata"])

    def work() -> None:
        try:
            reject(d.actor(user), item_id, reason)
        except GdprError as exc:
            client.chat_postMessage(channel=dm_channel(client, user), text=f":warning: {exc}")
    d.followups.submit(work, user=user, channel=None)
