"""The App Home, on both backends: opened through a signed `app_home_opened` event, it shows the viewer
what is theirs to see (nothing to a user with no role) - open requests by due date, what waits for their decision, live temporary
access, open breaches with their clock - with references only, and the scheduler's pass keeps it
current after a change."""
from __future__ import annotations

import json

from bootstrap.runtime import housekeeping_pass
from devslack.driver import wait_for
from tests.helpers import DPO, STRANGER, SUPPORT, unique_member


def _home(system, user: str, *, after: dict | None = None) -> dict:
    return wait_for(lambda: (h := system.standin.home(user)) is not None and h != after and h, timeout=20,
                    what=f"App Home of {user}")


def _text(view: dict) -> str:
    return json.dumps(view["blocks"])


def test_app_home_shows_each_viewer_their_overview_and_stays_current(system, gym) -> None:
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"access {member['member_number']}")
    card = system.card(kind="access")
    request_id = int(card["blocks"][-1]["elements"][0]["value"])

    assert system.slack.event({"type": "app_home_opened", "user": DPO, "tab": "home"}).status == 200
    dpo = _home(system, DPO)
    assert f"R-{request_id}" in _text(dpo) and "Waiting for your decision (1)" in _text(dpo)
    assert "due in" in _text(dpo) and "Open breaches (0)" in _text(dpo)
    assert member["email"] not in _text(dpo) and member["last_name"] not in _text(dpo)

    system.slack.event({"type": "app_home_opened", "user": SUPPORT, "tab": "home"})
    support = _home(system, SUPPORT)
    assert f"R-{request_id}" in _text(support) and "Waiting for your decision" not in _text(support)
    assert "Open breaches" not in _text(support)  # support does not read the breach register

    system.slack.event({"type": "app_home_opened", "user": STRANGER, "tab": "home"})
    stranger = _text(_home(system, STRANGER))  # a workspace member with no role: deny by default
    assert "no role in GDPR operations" in stranger and "R-" not in stranger and "Open requests" not in stranger

    other = unique_member(gym, with_notes=True)
    system.slack.command(SUPPORT, f"erase {other['member_number']}")
    erase_id = int(system.card(kind="erase")["blocks"][-1]["elements"][0]["value"])
    housekeeping_pass(system.services, owner="home")
    fresh = _home(system, DPO, after=dpo)
    assert f"R-{erase_id}" in _text(fresh) and "Waiting for your decision (2)" in _text(fresh)
