"""The breach modals' submissions on Slack: each input's value, the report's facts and the Art. 34 naming
read and checked, errors placed next to their fields."""
from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk import WebClient

from bot.listeners.decisions import MIN_REASON
from bot.slack_io import dm_channel
from gdpr.app.breaches import BreachDesk
from gdpr.breaches.service import REF, BreachFacts
from gdpr.breaches.targets import MemberTarget
from gdpr.core.access import Actor
from gdpr.core.errors import GdprError, UsageError

MIN_TEXT = MIN_REASON


def values(view: dict) -> dict:
    """Each input block's value, whatever its element type."""
    out: dict[str, Any] = {}
    for block, actions in view["state"]["values"].items():
        v = actions.get("value", {})
        if "selected_options" in v:
            out[block] = [o["value"] for o in v.get("selected_options") or []]
        elif "selected_option" in v:
            out[block] = (v.get("selected_option") or {}).get("value")
        elif "selected_date_time" in v:
            out[block] = v.get("selected_date_time")
        elif "selected_date" in v:
            out[block] = v.get("selected_date")
        else:
            out[block] = (v.get("value") or "").strip()
    return out


def read_facts(view: dict, now: dt.datetime) -> tuple[BreachFacts | None, dict[str, str]]:
    """The report modal's facts, or the errors to show next to each field."""
    v, errors = values(view), {}
    for block in ("what", "consequences", "measures", "contact"):
        if len(v.get(block) or "") < MIN_TEXT:
            errors[block] = f"Required: at least {MIN_TEXT} characters."
    for block in ("kinds", "data", "subjects", "clubs"):
        if not v.get(block):
            errors[block] = "Choose at least one."
    numbers = {}
    for block in ("people", "records"):
        raw = v.get(block) or ""
        if not raw.isdigit():
            errors[block] = "A whole number, 0 or more (an estimate is fine)."
        else:
            numbers[block] = int(raw)
    times = {}
    for block in ("detected", "aware"):
        stamp = v.get(block)
        if not isinstance(stamp, int):
            errors[block] = "Required."
        elif dt.datetime.fromtimestamp(stamp, dt.UTC) > now + dt.timedelta(minutes=5):
            errors[block] = "This is in the future."
        else:
            times[block] = dt.datetime.fromtimestamp(stamp, dt.UTC)
    if len(times) == 2 and times["aware"] < times["detected"]:
        errors["aware"] = "We cannot have become aware before the breach was detected."
    if errors:
        return None, errors
    return BreachFacts(description=v["what"], detected_at=times["detected"], aware_at=times["aware"], kinds=v["kinds"],
                       data_categories=v["data"], subject_categories=v["subjects"], approx_people=numbers["people"],
                       approx_records=numbers["records"], clubs=v["clubs"], consequences=v["consequences"],
                       measures=v["measures"], contact=v["contact"]), {}


def reasons(view: dict, *blocks: str) -> tuple[dict, dict]:
    v = values(view)
    errors = {b: f"Required: at least {MIN_TEXT} characters." for b in blocks if len(v.get(b) or "") < MIN_TEXT}
    return v, errors


def reported(client: WebClient, actor: Actor, breach_id: int) -> None:
    client.chat_postMessage(channel=dm_channel(client, actor.user_id),
                            text=f":rotating_light: {REF}{breach_id} is in the register and the breach channel.")


def read_members(breaches: BreachDesk, v: dict, errors: dict) -> MemberTarget | None:
    """The modal's Art. 34 naming (instructing clubs, member numbers or a query); errors go next to the fields."""
    if not v.get("instructed"):
        errors["instructed"] = "Members are told only on a club's instruction: tick the clubs that gave it."
    try:
        return breaches.member_target(numbers_text=v.get("numbers") or "", table_name=v.get("table"),
                                                  since=v.get("since"), until=v.get("until"))
    except UsageError as exc:
        errors["numbers"] = str(exc)
        return None


def dm_error(client: WebClient, user: str, exc: GdprError) -> None:
    client.chat_postMessage(channel=dm_channel(client, user), text=f":warning: {exc}")
