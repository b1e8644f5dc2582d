"""The Slack side of temporary access (gdpr.ports.GrantPresenter): the card in the DPO channel, kept
current; its thread tells the requester when access starts and both sides when it ends."""
from __future__ import annotations

from bot.cards import update_card
from bot.render_grant import grant_blocks, status_line, title, until
from gdpr import models as m

CARD = "card"


class GrantSlackDelivery:
    def __init__(self, services) -> None:  # noqa: ANN001 - bootstrap.compose.Services
        self.services = services

    def _subject(self, grant: m.AccessGrant) -> dict[str, str]:
        found = self.services.directory.load(grant.subject_type, grant.subject_key)
        return found.masked() if found else {"number": "erased", "club": "—", "name": "—", "email": "—", "phone": "—"}

    def grant_opened(self, grant: m.AccessGrant, subject: dict[str, str]) -> None:
        resp = self.services.slack.chat_postMessage(channel=self.services.policy.channel("approvals"),
                                                    text=f"{title(grant)}: awaiting DPO approval",
                                                    blocks=grant_blocks(grant, subject))
        self.services.shown.remember(f"G-{grant.id}", CARD, (resp["channel"], resp["ts"]))

    def grant_changed(self, grant: m.AccessGrant) -> None:
        update_card(self.services, f"G-{grant.id}", CARD, blocks=grant_blocks(grant, self._subject(grant)),
                    text=f"{title(grant)}: {status_line(grant)}")

    def _thread(self, grant: m.AccessGrant, text: str) -> None:
        where = self.services.shown.where(f"G-{grant.id}", CARD)
        if where is not None:
            self.services.slack.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)

    def grant_started(self, grant: m.AccessGrant) -> None:
        self._thread(grant, f":unlock: <@{grant.requester_id}> your access G-{grant.id} is live until "
                            f"{until(grant.expires_at)}: `/gdpr find` shows this subject unmasked to you alone. "
                            "It ends by itself; a longer look needs a new request.")

    def grant_ended(self, grant: m.AccessGrant) -> None:
        how = "was revoked" if grant.status == m.REVOKED else "expired"
        approver = f" <@{grant.decided_by}>" if grant.decided_by else ""
        self._thread(grant, f":lock: <@{grant.requester_id}>{approver} access G-{grant.id} {how} at "
                            f"{until(grant.ended_at)}: the subject is masked again for <@{grant.requester_id}>.")
