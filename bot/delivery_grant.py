"""The Slack side of temporary access (gdpr.core.ports.GrantPresenter): the card in the DPO channel, kept
current; its thread tells the requester when access starts and both sides when it ends."""
from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.cards import Cards
from bot.render_grant import grant_blocks, status_line, title, until
from gdpr.core import models as m

CARD = "card"


class GrantSlackDelivery:
    def __init__(self, slack: WebClient, cards: Cards, masked: Callable[[str, str], dict[str, str] | None],
                 approvals: str) -> None:
        """`masked(subject_type, key)`: the subject's masked fields, None once it is gone."""
        self.slack, self.cards, self.masked, self.approvals = slack, cards, masked, approvals

    def _subject(self, grant: m.AccessGrant) -> dict[str, str]:
        found = self.masked(grant.subject_type, grant.subject_key)
        return found or {"number": "erased", "club": "—", "name": "—", "email": "—", "phone": "—"}

    def grant_opened(self, grant: m.AccessGrant, subject: dict[str, str]) -> None:
        resp = self.slack.chat_postMessage(channel=self.approvals, text=f"{title(grant)}: awaiting DPO approval",
                                           blocks=grant_blocks(grant, subject))
        self.cards.remember(f"G-{grant.id}", CARD, resp)

    def grant_changed(self, grant: m.AccessGrant) -> None:
        self.cards.update(f"G-{grant.id}", CARD, blocks=grant_blocks(grant, self._subject(grant)),
                    text=f"{title(grant)}: {status_line(grant)}")

    def _thread(self, grant: m.AccessGrant, text: str) -> None:
        where = self.cards.where(f"G-{grant.id}", CARD)
        if where is not None:
            self.slack.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)

    def grant_started(self, grant: m.AccessGrant) -> None:
        self._thread(grant, f":unlock: <@{grant.requester_id}> your access G-{grant.id} is live until "
                            f"{until(grant.expires_at)}: `/gdpr find` shows this subject unmasked to you alone. "
                            "It ends by itself; a longer look needs a new request.")

    def grant_ended(self, grant: m.AccessGrant) -> None:
        how = "was revoked" if grant.status == m.REVOKED else "expired"
        approver = f" <@{grant.decided_by}>" if grant.decided_by else ""
        self._thread(grant, f":lock: <@{grant.requester_id}>{approver} access G-{grant.id} {how} at "
                            f"{until(grant.ended_at)}: the subject is masked again for <@{grant.requester_id}>.")
