"""A user's overview as the presenter receives it (the view model of gdpr.core.ports.HomePresenter): plain
values only, so the port and the use case (gdpr/app/home.py) both depend on it and not on each other."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Listed:
    """The first items of a list (plain values: refs, kinds, dates) and how many there are."""
    items: list[dict]
    total: int


@dataclass(frozen=True)
class Home:
    user_id: str
    now: dt.datetime
    requests: Listed | None  # open, soonest due first (to those who open, decide or audit requests)
    approvals: Listed | None  # waiting for this viewer (requests, grants, runs), oldest first (request.decide)
    grants: Listed | None  # live: the viewer's own (grant.request), or all for the DPO
    breaches: Listed | None  # open, with their deadline (breach.read)
    runs: Listed | None  # retention runs waiting for the DPO (retention.read or request.decide)
