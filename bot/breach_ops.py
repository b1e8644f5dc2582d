"""`/gdpr breach ...` on Slack: its modals (built and read here), and what the breach use cases return, rendered."""
from __future__ import annotations

import datetime as dt
from typing import Any

from bot.delivery_breach import BreachSlackDelivery
from bot.listeners.decisions import MIN_REASON
from bot.pages import line_sections, nav, window
from bot.render import mrkdwn
from bot.render_breach import breach_line, modal, reason_blocks, report_modal
from bot.slack_io import dm_channel, ephemeral
from gdpr.app.reads import PER_PAGE
from gdpr.breach_targets import MemberTarget
from gdpr.breaches import REF, BreachFacts, parse_ref
from gdpr.errors import GdprError, UsageError

MODAL_COMMANDS = ("breach", "breach update", "breach close")
MIN_TEXT = MIN_REASON


# -- commands that open a modal (on the listener thread: the trigger_id lives 3 s) ------------------
def open_modal(services, client, actor, trigger_id: str, cmd) -> None:  # noqa: ANN001
    desk = services.breach_desk
    if cmd.name == "breach":
        view = report_modal(desk.report_form(actor=actor), services.breach_config.contact)
    else:
        breach = desk.managed(actor=actor, breach_id=parse_ref(cmd.identity))
        if cmd.name == "breach update":
            view = report_modal([], "", callback_id="breach.update", metadata=str(breach.id),
                                title=f"Update {REF}{breach.id}", facts=breach)
            if desk.needs_delay_reason(breach):
                view["blocks"].append(reason_blocks("Reasons for the delay (the notices are late)", block="delay"))
        else:
            view = modal("breach.close", str(breach.id), f"Close {REF}{breach.id}", [
                reason_blocks("Remedial actions taken", block="remedial"),
                reason_blocks("Reasoning for the decisions (notify or not, tell members or not)", block="reasoning")])
    client.views_open(trigger_id=trigger_id, view=view)


# -- commands answered after the ack: audited reads, rendered --------------------------------------------
def handle(services, client, actor, channel: str, cmd) -> None:  # noqa: ANN001
    if cmd.name == "breach list":
        ephemeral(client, channel=channel, user=actor.user_id, **register_page(services, actor, "", 0))
    elif cmd.name == "breach show":
        ephemeral(client, channel=channel, user=actor.user_id,
                  **timeline_page(services, actor, str(parse_ref(cmd.identity)), 0))
    elif cmd.name == "breach register":
        send_register(client, actor, channel, services.breach_desk.register_file(actor=actor))


def register_page(services, actor, arg: str, offset: int) -> dict:  # noqa: ANN001
    """A page of `/gdpr breach list` (its text and blocks)."""
    now, page = services.breaches.clock(), services.breach_desk.register(actor=actor, offset=offset)
    lines = [breach_line(b, deadline, now) for b, deadline in page.items]
    blocks = [{"type": "section", "text": mrkdwn("*Breach register*")}, *line_sections(lines, emoji=True),
              window(page, "breaches", whole="`/gdpr breach register` (an encrypted file)"),
              *nav("breaches", arg, page, PER_PAGE)]
    return {"text": f"Breach register: {page.total} breach(es)", "blocks": blocks}


def timeline_page(services, actor, arg: str, offset: int) -> dict:  # noqa: ANN001
    """A page of `/gdpr breach show B-n`: the alert, then a window of its timeline."""
    now = services.breaches.clock()
    breach, page = services.breach_desk.show(actor=actor, breach_id=int(arg), offset=offset)
    steps = [f"{e.at:%d %b %H:%M} {e.kind}: {e.text}" for e in page.items]
    alert = BreachSlackDelivery(services).alert(breach, now)[:-1] if offset == 0 else [
        {"type": "section", "text": mrkdwn(f"*{REF}{breach.id}* — timeline")}]
    blocks = [*alert, *line_sections(steps, emoji=True), window(page, "timeline steps", whole="`/gdpr breach register`"),
              *nav("timeline", arg, page, PER_PAGE)]
    return {"text": f"{REF}{breach.id}", "blocks": blocks}


def send_register(client, actor, channel: str, register) -> None:  # noqa: ANN001
    client.chat_postMessage(channel=dm_channel(client, actor.user_id),
                            text=f":key: Passphrase for `{register.path.name}` (breach register): `{register.passphrase}`")
    client.files_upload_v2(channel=channel, file=str(register.path), filename=register.path.name,
                           title="Breach register (AES-256 zip)",
                           initial_comment=f"The breach register ({register.breaches} breach(es)). The passphrase "
                                           f"went to <@{actor.user_id}> by direct message.")


# -- modal submissions --------------------------------------------------------------------------------
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


def reported(client, actor, breach_id: int) -> None:  # noqa: ANN001
    client.chat_postMessage(channel=dm_channel(client, actor.user_id),
                            text=f":rotating_light: {REF}{breach_id} is in the register and the breach channel.")


def read_members(services, v: dict, errors: dict) -> MemberTarget | None:  # noqa: ANN001
    """The modal's Art. 34 naming (instructing clubs, member numbers or a query); errors go next to the fields."""
    if not v.get("instructed"):
        errors["instructed"] = "Members are told only on a club's instruction: tick the clubs that gave it."
    try:
        return services.breach_desk.member_target(numbers_text=v.get("numbers") or "", table_name=v.get("table"),
                                                  since=v.get("since"), until=v.get("until"))
    except UsageError as exc:
        errors["numbers"] = str(exc)
        return None


def dm_error(client, user: str, exc: GdprError) -> None:  # noqa: ANN001
    client.chat_postMessage(channel=dm_channel(client, user), text=f":warning: {exc}")
