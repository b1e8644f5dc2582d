"""What the Slack adapter is handed by the composition root, typed: the use cases it may call and its own
Slack-side parts. A listener names what it needs as keyword-only parameters (Bolt injects only the
positional ones it knows: `ack`, `body`, `client`, ...), and its package's `register` binds exactly those."""
from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter

from bot.followups import Followups
from bot.slack_io import SlackUsers
from gdpr.app.breaches import BreachDesk
from gdpr.app.club_api import ClubAccess
from gdpr.app.consent import ConsentDesk
from gdpr.app.deadlines import RequestDeadlines
from gdpr.app.grants import Grants
from gdpr.app.history import SubjectHistory
from gdpr.app.home import Overview
from gdpr.app.lookup import FindSubjects
from gdpr.app.purges import Purges
from gdpr.app.requests import SubjectRequests
from gdpr.app.rights import RightsDesk
from gdpr.app.ropa import Records
from gdpr.core.access import Actor


@dataclass(frozen=True)
class SlackUseCases:
    """The use cases behind `/gdpr`, its buttons, modals and App Home: nothing else of the domain."""

    requests: SubjectRequests
    deadlines: RequestDeadlines
    find: FindSubjects
    history: SubjectHistory
    grants: Grants
    purges: Purges
    breaches: BreachDesk
    consent: ConsentDesk
    rights: RightsDesk
    clubs: ClubAccess
    records: Records
    home: Overview


@dataclass(frozen=True)
class Bot:
    """The Slack side's own parts: who a Slack user is (roles resolved server-side at each action), the pool
    for the work after the ack, where approvals are asked, and the commands counter."""

    users: SlackUsers
    followups: Followups
    approvals: str  # the channel id of the DPO's approvals (config/roles.yaml)
    commands: Counter

    def actor(self, user_id: str) -> Actor:
        return self.users.actor(user_id)
