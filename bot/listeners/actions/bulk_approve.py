"""Approve on a bulk run's card: role and four eyes resolved server-side, in the domain."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.actions.bulk import decide, run_id_of
from bot.listeners.deps import deps


def bulk_approve(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    run_id, user, channel = run_id_of(body), body["user"]["id"], body["channel"]["id"]
    d.followups.submit(lambda: decide(d.services, client, d.actor(user), channel, run_id), user=user, channel=channel)
