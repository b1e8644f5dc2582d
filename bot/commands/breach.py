"""`/gdpr breach ...` on Slack: the modals it opens, and what the breach use cases return, rendered (the
modals' submissions are read in bot/breach_forms.py)."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.delivery_breach import render_alert
from bot.grammar import Command
from bot.pages import line_sections, nav, window
from bot.render import mrkdwn
from bot.render_breach import breach_line, modal, reason_blocks, report_modal
from bot.slack_io import dm_channel, ephemeral
from gdpr.app.breaches import BreachDesk, RegisterFile
from gdpr.app.reads import PER_PAGE
from gdpr.breaches.service import REF, parse_ref
from gdpr.core.access import Actor


# -- commands that open a modal (on the listener thread: the trigger_id lives 3 s) ------------------
def open_modal(client: WebClient, actor: Actor, trigger_id: str, cmd: Command, *, breaches: BreachDesk,
               contact: str) -> None:
    """`contact`: the DPO's contact the report form starts with (config/breaches.yaml)."""
    desk = breaches
    if cmd.name == "breach":
        view = report_modal(desk.report_form(actor=actor), contact)
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
def breach_list(client: WebClient, actor: Actor, channel: str, cmd: Command, *, breaches: BreachDesk) -> None:
    ephemeral(client, channel=channel, user=actor.user_id, **register_page(actor, "", 0, breaches=breaches))


def breach_show(client: WebClient, actor: Actor, channel: str, cmd: Command, *, breaches: BreachDesk) -> None:
    ephemeral(client, channel=channel, user=actor.user_id,
              **timeline_page(actor, str(parse_ref(cmd.identity)), 0, breaches=breaches))


def breach_register(client: WebClient, actor: Actor, channel: str, cmd: Command, *, breaches: BreachDesk) -> None:
    send_register(client, actor, channel, breaches.register_file(actor=actor))


def breach_file(client: WebClient, actor: Actor, channel: str, cmd: Command, *, breaches: BreachDesk) -> None:
    send_register(client, actor, channel, breaches.breach_file(actor=actor, breach_id=parse_ref(cmd.identity)))


def register_page(actor: Actor, arg: str, offset: int, *, breaches: BreachDesk) -> dict:
    """A page of `/gdpr breach list` (its text and blocks)."""
    now, page = breaches.now(), breaches.register(actor=actor, offset=offset)
    lines = [breach_line(b, deadline, now) for b, deadline in page.items]
    blocks = [{"type": "section", "text": mrkdwn("*Breach register*")}, *line_sections(lines, emoji=True),
              window(page, "breaches", whole="`/gdpr breach register` (an encrypted file)"),
              *nav("breaches", arg, page, PER_PAGE)]
    return {"text": f"Breach register: {page.total} breach(es)", "blocks": blocks}


def timeline_page(actor: Actor, arg: str, offset: int, *, breaches: BreachDesk) -> dict:
    """A page of `/gdpr breach show B-n`: the alert, then a window of its timeline."""
    breach, page = breaches.show(actor=actor, breach_id=int(arg), offset=offset)
    steps = [f"{e.at:%d %b %H:%M} {e.kind}: {e.text}" for e in page.items]
    alert = render_alert(breaches.alert(breach))[:-1] if offset == 0 else [
        {"type": "section", "text": mrkdwn(f"*{REF}{breach.id}* — timeline")}]
    blocks = [*alert, *line_sections(steps, emoji=True), window(page, "timeline steps", whole="`/gdpr breach register`"),
              *nav("timeline", arg, page, PER_PAGE)]
    return {"text": f"{REF}{breach.id}", "blocks": blocks}


def send_register(client: WebClient, actor: Actor, channel: str, register: RegisterFile) -> None:
    """The encrypted register, or one breach's file, in the channel; its passphrase to the requester by DM."""
    client.chat_postMessage(channel=dm_channel(client, actor.user_id),
                            text=f":key: Passphrase for `{register.path.name}` ({register.title}): `{register.passphrase}`")
    what = (f"The breach register ({register.breaches} breach(es))." if register.title == "breach register" else
            f"The {register.title} for the supervisory authority (Art. 33(5)), signed (Ed25519, `breach-file`: "
            "check it with `gdpr-bot verify`).")
    client.files_upload_v2(channel=channel, file=str(register.path), filename=register.path.name,
                           title=f"{register.title[0].upper()}{register.title[1:]} (AES-256 zip)",
                           initial_comment=f"{what} The passphrase went to <@{actor.user_id}> by direct message.")


