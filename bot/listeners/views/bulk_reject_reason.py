"""The bulk run's reject modal: a reason is required; the decision is re-checked server-side."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.views.reject_reason import decide_with_reason
from bot.slack_io import dm_channel
from gdpr.errors import GdprError


def bulk_reject_reason(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
    decide_with_reason(ack, body, view, client, context, reject)


def reject(services, client, actor, run_id: int, reason: str) -> None:  # noqa: ANN001
    try:
        services.purges.reject(actor=actor, run_id=run_id, reason=reason)
    except GdprError as exc:  # modals have no channel: answer by DM
        client.chat_postMessage(channel=dm_channel(client, actor.user_id), text=f":warning: {exc}")
