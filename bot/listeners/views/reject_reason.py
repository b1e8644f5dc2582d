"""The reject modal's submission: a reason is required; the decision is re-checked server-side."""
from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.deps import deps
from bot.slack_io import dm_channel
from gdpr.errors import GdprError

MIN_REASON = 5


def read_reason(ack, view) -> str | None:  # noqa: ANN001
    """The modal's reason, or None after answering the modal with an inline error."""
    reason = (view["state"]["values"].get("reason", {}).get("value", {}).get("value") or "").strip()
    if len(reason) < MIN_REASON:
        ack(response_action="errors", errors={"reason": f"Give a reason of at least {MIN_REASON} characters."})
        return None
    ack()
    return reason


def decide_with_reason(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext,
                       decide: Callable) -> None:
    """A reject modal's submission: the reason checked in the modal, `decide(services, client, actor, id,
    reason)` run after the ack, on the follow-up pool."""
    reason = read_reason(ack, view)
    if reason is None:
        return
    d = deps(context)
    user, item_id = body["user"]["id"], int(view["private_metadata"])
    d.followups.submit(lambda: decide(d.services, client, d.actor(user), item_id, reason), user=user, channel=None)


def reject_reason(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
    decide_with_reason(ack, body, view, client, context, reject)


def reject(services, client, actor, request_id: int, reason: str) -> None:  # noqa: ANN001
    try:
        services.subject_requests.reject(actor=actor, request_id=request_id, reason=reason)
    except GdprError as exc:  # modals have no channel: answer by DM
        client.chat_postMessage(channel=dm_channel(client, actor.user_id), text=f":warning: {exc}")
