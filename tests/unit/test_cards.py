"""A thread message several deliveries want at the same moment (a request's recipients, a breach's progress):
posted once, on each engine, through the Slack stand-in; the others leave it owed so the catch-up renders the
latest state into it; a poster that died mid-way is taken over after the claim's time."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cards import Cards
from gdpr.core.shown import CLAIM_TTL
from tests.conftest import BOT_TOKEN


def _cards(app_on, standin) -> tuple[Cards, WebClient, tuple[str, str]]:
    slack = WebClient(token=BOT_TOKEN, base_url=standin.api_url)
    parent = slack.chat_postMessage(channel="C0APPROVALS", text="R-1 card")
    return Cards(slack, app_on.services.shown), slack, (parent["channel"], parent["ts"])


def test_a_thread_message_wanted_by_two_deliveries_at_once_is_posted_once_and_left_owed(app_on, standin) -> None:
    cards, slack, (channel, ts) = _cards(app_on, standin)
    shown, inside, both_asked = app_on.services.shown, threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def post(text: str):
        inside.set()
        assert both_asked.wait(10)  # the second delivery asks while the first is still posting
        return slack.chat_postMessage(channel=channel, thread_ts=ts, text=text)

    def deliver(text: str) -> None:
        try:
            cards.post_once("R-1", "notices", lambda: post(text))
        except BaseException as exc:  # the test reports it
            errors.append(exc)

    first = threading.Thread(target=deliver, args=("older state",))
    first.start()
    assert inside.wait(10)
    assert cards.where("R-1", "notices") is None  # claimed, not posted: nobody updates a message not there yet
    deliver("newer state")  # loses the claim: does not post, does not fail
    both_asked.set()
    first.join(10)
    assert not errors
    assert [m["text"] for m in standin.thread(channel, ts)] == ["older state"]
    assert cards.where("R-1", "notices") == (channel, standin.thread(channel, ts)[0]["ts"])
    assert ("R-1", "notices") in shown.owed()  # the newer state is owed: the catch-up renders it into the message


def test_a_claim_whose_poster_died_is_taken_over_and_a_refused_post_frees_it(app_on, standin) -> None:
    cards, slack, (channel, ts) = _cards(app_on, standin)
    shown, now = app_on.services.shown, app_on.services.shown.clock()
    assert shown.claim("B-1", "members")  # a poster that dies here, before posting
    assert not shown.claim("B-1", "members")
    shown.clock = lambda: now + CLAIM_TTL + dt.timedelta(seconds=1)
    cards.post_once("B-1", "members", lambda: slack.chat_postMessage(channel=channel, thread_ts=ts, text="1 / 9"))
    assert [m["text"] for m in standin.thread(channel, ts)] == ["1 / 9"]
    assert ("B-1", "members") not in shown.owed()  # nobody else wanted it: posted is delivered

    standin.fail("chat.postMessage", 503, times=3)
    with pytest.raises(SlackApiError):  # Slack's refusal reaches the caller, as before
        cards.post_once("R-2", "notices", lambda: slack.chat_postMessage(channel=channel, thread_ts=ts, text="x"))
    assert cards.where("R-2", "notices") is None
    assert shown.claim("R-2", "notices")  # freed at once, not after the claim's time
