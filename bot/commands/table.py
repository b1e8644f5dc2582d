"""The one command table: every command name `bot.grammar.parse` returns, mapped to its handler with the use
cases it needs bound, built once from what the composition root hands the Slack adapter."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from slack_sdk import WebClient

from bot.commands import breach, clubs, consent, grants, history, purges, requests, rights, ropa
from bot.grammar import Command
from bot.listeners.deps import SlackUseCases
from gdpr.core.access import Actor

# client, actor, channel (for a modal: the trigger id), the parsed command
Handler = Callable[[WebClient, Actor, str, Command], None]
# Previous / Next of a paged answer: actor, the button's argument, offset -> the page's text and blocks
PageView = Callable[[Actor, str, int], dict]


@dataclass(frozen=True)
class CommandTable:
    answered: dict[str, Handler]  # answered after the ack, on the follow-up pool
    modals: dict[str, Handler]  # open a modal on the listener thread: the trigger id lives 3 s
    pages: dict[str, PageView]  # the paged answers, by the view name their buttons carry

    def names(self) -> set[str]:
        return {*self.answered, *self.modals}


def command_table(use: SlackUseCases, *, approvals: str, breach_contact: str) -> CommandTable:
    request = partial(requests.open_request, requests=use.requests)
    deadline = partial(requests.deadline, deadlines=use.deadlines)
    grant = partial(grants.grant_commands, grants=use.grants)
    agreement = partial(consent.consent_commands, consent=use.consent)
    right = partial(rights.rights_commands, rights=use.rights)
    token = partial(clubs.club_token, clubs=use.clubs)
    modal = partial(breach.open_modal, breaches=use.breaches, contact=breach_contact)
    return CommandTable(
        answered={
            "find": partial(requests.find, find=use.find), "access": request, "erase": request,
            "extend": deadline, "refuse": deadline,
            "crm purge": partial(purges.crm_purge, purges=use.purges, approvals=approvals),
            "retention report": partial(purges.retention_report, purges=use.purges),
            "breach list": partial(breach.breach_list, breaches=use.breaches),
            "breach show": partial(breach.breach_show, breaches=use.breaches),
            "breach register": partial(breach.breach_register, breaches=use.breaches),
            "breach file": partial(breach.breach_file, breaches=use.breaches),
            "grant": grant, "grants": grant, "revoke": grant,
            "consent": agreement, "withdraw": agreement, "object": agreement,
            "restrict": right, "restrict lift": right, "rectify": right,
            "audit": partial(history.audit, history=use.history),
            "club tokens": token, "club token create": token, "club token rotate": token, "club token revoke": token,
            "club offboard": partial(clubs.offboard, purges=use.purges, approvals=approvals),
            "ropa": partial(ropa.ropa, records=use.records),
        },
        modals={"breach": modal, "breach update": modal, "breach close": modal},
        pages={"breaches": partial(breach.register_page, breaches=use.breaches),
               "timeline": partial(breach.timeline_page, breaches=use.breaches),
               "grants": partial(grants.grants_page, grants=use.grants),
               "history": partial(history.history_page, history=use.history)})
