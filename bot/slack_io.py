"""Small helpers around the Web API: ephemeral answers, posting with a DM fallback, user groups."""
from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from gdpr.core.access import AccessPolicy, Actor

log = logging.getLogger(__name__)


def ephemeral(client: WebClient, *, channel: str, user: str, text: str, blocks: list | None = None) -> None:
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
    except SlackApiError as exc:  # e.g. the bot is not in that channel: fall back to a DM
        log.info("ephemeral failed (%s); sending a DM", exc.response.get("error"))
        client.chat_postMessage(channel=dm_channel(client, user), text=text, blocks=blocks)


def dm_channel(client: WebClient, user: str) -> str:
    return client.conversations_open(users=user)["channel"]["id"]


def post(client: WebClient, *, channel: str, fallback_user: str | None, text: str, blocks: list) -> tuple[str, str]:
    """Post to channel, or to the user's DM (if given) when the bot cannot post there; returns (channel, ts)."""
    try:
        resp = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as exc:
        if fallback_user is None:
            raise
        log.info("post to %s failed (%s); using a DM", channel, exc.response.get("error"))
        resp = client.chat_postMessage(channel=dm_channel(client, fallback_user), text=text, blocks=blocks)
    return resp["channel"], resp["ts"]


class SlackUsers:
    """Resolves a Slack user to roles server-side, user-group memberships cached briefly."""

    def __init__(self, client: WebClient, policy: AccessPolicy, ttl: float = 60.0) -> None:
        self._client, self._policy, self._ttl = client, policy, ttl
        self._lock = threading.Lock()
        self._members: dict[str, frozenset[str]] = {}
        self._loaded = 0.0

    def actor(self, user_id: str) -> Actor:
        return self._policy.actor(user_id, self._groups_of(user_id))

    def _groups_of(self, user_id: str) -> frozenset[str]:
        with self._lock:
            if time.monotonic() - self._loaded > self._ttl:
                self._members = {gid: self._fetch(gid) for gid in self._policy.groups}
                self._loaded = time.monotonic()
            return frozenset(gid for gid, users in self._members.items() if user_id in users)

    def _fetch(self, group_id: str) -> frozenset[str]:
        try:
            return frozenset(self._client.usergroups_users_list(usergroup=group_id).get("users", []))
        except SlackApiError as exc:  # deny by default: an unreadable group grants nothing
            log.warning("cannot read user group %s: %s", group_id, exc.response.get("error"))
            return frozenset()
