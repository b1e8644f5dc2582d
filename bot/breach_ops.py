"""`/gdpr breach ...`, its modals and buttons, after the ack: parse, check, call the domain, post."""
from __future__ import annotations

import datetime as dt
import logging

from bot.delivery_breach import BreachSlackDelivery
from bot.listeners.views.reject_reason import MIN_REASON
from bot.render import plain
from bot.render_breach import breach_line, members_preview, modal, reason_blocks, report_modal
from bot.slack_io import dm_channel, ephemeral
from gdpr.breach_register import build_register
from gdpr.breach_targets import MemberTarget, read_target
from gdpr.breaches import REF, BreachFacts, parse_ref
from gdpr.crypto import new_passphrase
from gdpr.errors import GdprError, UsageError
from gdpr.jobs import resend

log = logging.getLogger(__name__)
MODAL_COMMANDS = ("breach", "breach update", "breach close")
MIN_TEXT = MIN_REASON


# -- commands that open a modal (on the listener thread: the trigger_id lives 3 s) ------------------
def open_modal(services, client, actor, trigger_id: str, cmd) -> None:  # noqa: ANN001
    if cmd.name == "breach":
        services.authz.require(actor, "breach.report")
        view = report_modal(services.breach_mail.clubs(), services.breach_config.contact)
    else:
        services.authz.require(actor, "breach.manage")
        breach = services.breaches.get(parse_ref(cmd.identity))
        if cmd.name == "breach update":
            view = report_modal([], "", callback_id="breach.update", metadata=str(breach.id),
                                title=f"Update {REF}{breach.id}", facts=breach)
            if services.breaches.is_late(breach) and not breach.delay_reason:
                view["blocks"].append(reason_blocks("Reasons for the delay (the notices are late)", block="delay"))
        else:
            view = modal("breach.close", str(breach.id), f"Close {REF}{breach.id}", [
                reason_blocks("Remedial actions taken", block="remedial"),
                reason_blocks("Reasoning for the decisions (notify or not, tell members or not)", block="reasoning")])
    client.views_open(trigger_id=trigger_id, view=view)


# -- commands answered after the ack ----------------------------------------------------------------
def handle(services, client, actor, channel: str, cmd) -> None:  # noqa: ANN001
    services.authz.require(actor, "breach.read")
    now = services.breaches.clock()
    if cmd.name == "breach list":
        lines = [breach_line(b, services.breaches.deadline(b), now) for b in services.breaches.all()]
        ephemeral(client, channel=channel, user=actor.user_id, text="Breach register:\n" + ("\n".join(lines) or "empty"))
    elif cmd.name == "breach show":
        breach = services.breaches.get(parse_ref(cmd.identity))
        steps = [f"{e.at:%d %b %H:%M} {e.kind}: {e.text}" for e in services.breaches.events(breach.id)]
        blocks = BreachSlackDelivery(services).alert(breach, now)[:-1] + [
            {"type": "section", "text": plain("Timeline:\n" + "\n".join(steps))}]
        ephemeral(client, channel=channel, user=actor.user_id, text=f"{REF}{breach.id}", blocks=blocks)
    elif cmd.name == "breach register":
        send_register(services, client, actor, channel)
    services.reads.record(actor, "breach.read", view=cmd.name)


def send_register(services, client, actor, channel: str) -> None:  # noqa: ANN001
    passphrase = new_passphrase()  # this frame only
    path, count = build_register(services.breaches, services.settings.export_dir, passphrase)
    client.chat_postMessage(channel=dm_channel(client, actor.user_id),
                            text=f":key: Passphrase for `{path.name}` (breach register): `{passphrase}`")
    client.files_upload_v2(channel=channel, file=str(path), filename=path.name, title="Breach register (AES-256 zip)",
                           initial_comment=f"The breach register ({count} breach(es)). The passphrase went to "
                                           f"<@{actor.user_id}> by direct message.")


# -- modal submissions --------------------------------------------------------------------------------
def values(view: dict) -> dict:
    """Each input block's value, whatever its element type."""
    out = {}
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
        elif dt.datetime.fromtimestamp(stamp, dt.timezone.utc) > now + dt.timedelta(minutes=5):
            errors[block] = "This is in the future."
        else:
            times[block] = dt.datetime.fromtimestamp(stamp, dt.timezone.utc)
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


def report(services, client, actor, facts: BreachFacts) -> None:  # noqa: ANN001
    breach = services.breaches.report(actor=actor, facts=facts)
    BreachSlackDelivery(services).post_alert(breach)
    client.chat_postMessage(channel=dm_channel(client, actor.user_id),
                            text=f":rotating_light: {REF}{breach.id} is in the register and the breach channel.")


def notify(services, client, actor, breach_id: int, *, late_reason: str | None = None,
           new_phase: bool = False) -> list[int]:  # noqa: ANN001
    breach = services.breaches.get(breach_id)
    ids = services.breaches.notify_clubs(breach_id=breach_id, actor=actor, late_reason=late_reason, new_phase=new_phase,
                                         contacts=services.breach_mail.contacts(breach.clubs))
    resend(ids, services.send_breach_notice, label="breach notice ")  # refused: the reconciler sends it later
    BreachSlackDelivery(services).refresh(services.breaches.get(breach_id))
    return ids


def read_members(services, v: dict, errors: dict) -> MemberTarget | None:  # noqa: ANN001
    """The modal's Art. 34 naming (instructing clubs, member numbers or a query); errors go next to the fields."""
    if not v.get("instructed"):
        errors["instructed"] = "Members are told only on a club's instruction: tick the clubs that gave it."
    try:
        return read_target(numbers_text=v.get("numbers") or "", table_name=v.get("table"), since=v.get("since"),
                           until=v.get("until"), pattern=services.datamap.subject("member").number_pattern,
                           tables=services.breach_mail.dated_tables())
    except UsageError as exc:
        errors["numbers"] = str(exc)
        return None


def assess(services, client, actor, breach_id: int, risk: str, v: dict) -> None:  # noqa: ANN001
    breach = services.breaches.assess(breach_id=breach_id, actor=actor, risk=risk, reasoning=v["reasoning"])
    if risk == "high" and v.get("members"):
        breach = services.breaches.decide_members(breach_id=breach_id, actor=actor, notify=v["members"] == "notify",
                                                  reasoning=v["reasoning"], target=v.get("target"),
                                                  instructed=v.get("instructed"))
        if breach.members_status == "previewed":  # the count first; the DPO sends
            count = services.breach_mail.count_members(breach)
            client.chat_postMessage(channel=breach.channel_id, thread_ts=breach.message_ts,
                                    text=f"Art. 34 preview for {REF}{breach_id}: {count} member(s)",
                                    blocks=members_preview(breach, count, services.breach_mail.clubs(breach.clubs)))
    BreachSlackDelivery(services).refresh(breach)


def send_members(services, actor, breach_id: int) -> None:  # noqa: ANN001
    """Send pressed on the preview: the notices are queued once (a second press is told so)."""
    breach = services.breaches.get(breach_id)
    breach = services.breaches.send_members(breach_id=breach_id, actor=actor,
                                            count=services.breach_mail.count_members(breach))
    try:
        services.enqueue_member_notices(breach_id)
    except Exception:  # the decision is recorded: the reconciler sends the job when the queue is back
        log.warning("member notices of B-%s not queued now; the reconciler will", breach_id)
    BreachSlackDelivery(services).refresh(breach)


def close(services, client, actor, breach_id: int, v: dict) -> None:  # noqa: ANN001
    breach = services.breaches.close(breach_id=breach_id, actor=actor, remedial=v["remedial"], reasoning=v["reasoning"])
    delivery = BreachSlackDelivery(services)
    delivery.refresh(breach)
    sent = len({n.club_id for n in services.breaches.notices(breach_id) if n.status == "sent"})
    summary = (f":white_check_mark: {REF}{breach_id} closed by <@{actor.user_id}>. Clubs notified: {sent} of "
               f"{len(breach.clubs)}. Risk: {breach.risk.replace('_', ' ')}. Members told: {breach.members_done:,}.")
    client.chat_postMessage(channel=breach.channel_id, thread_ts=breach.message_ts, reply_broadcast=True,
                            text=summary, blocks=[{"type": "section", "text": plain(
                                summary + f"\nRemedial actions: {v['remedial']}\nReasoning: {v['reasoning']}")}])


def fire_reminders(services, now: dt.datetime) -> int:  # noqa: ANN001
    """Keep every open breach's countdown current; post every due reminder, then mark it fired: one that
    cannot be posted stays due (never lapses)."""
    delivery, fired = BreachSlackDelivery(services), 0
    for breach in services.breaches.open_breaches():
        delivery.refresh(breach, now)
    for reminder in services.breaches.due_reminders(now):
        breach = services.breaches.get(reminder.breach_id)
        try:
            delivery.reminder(breach, reminder, now)
        except Exception as exc:  # Slack unreachable: the next tick tries again
            log.warning("reminder for B-%s not posted: %s", breach.id, type(exc).__name__)
            continue
        fired += services.breaches.fire(reminder, now)
    return fired


def dm_error(client, user: str, exc: GdprError) -> None:  # noqa: ANN001
    client.chat_postMessage(channel=dm_channel(client, user), text=f":warning: {exc}")
