"""Send on the Art. 34 preview: the previewed member notices are queued, once."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.listeners.actions.breach import breach_id_of, value_of
from bot.listeners.deps import deps


def breach_members_send(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    d = deps(context)
    actor, breach_id = d.actor(body["user"]["id"]), breach_id_of(value_of(body))
    d.followups.submit(lambda: d.services.breach_desk.send_members(actor=actor, breach_id=breach_id),
                       user=actor.user_id, channel=body["channel"]["id"])
