"""The App Home through its use case: what a viewer sees, and the scheduler's refresh publishing a home
only when what it shows changed (Slack limits views.publish), at most hourly for the countdowns."""
from __future__ import annotations

import datetime as dt

from tests.helpers import SUPPORT, unique_member
from tests.unit.conftest import App


def test_a_home_is_republished_only_when_what_it_shows_changed(app: App) -> None:
    services, published = app.services, app.services.presenters.home.published
    services.overview.staff = lambda user: app.dpo()  # the workspace's user groups, as Slack would say
    now = dt.datetime(2026, 11, 27, 10, 5, tzinfo=dt.UTC)
    first = services.overview.opened(actor=app.dpo(), now=now)
    assert first.requests.total == 0 and first.approvals.total == 0
    assert services.overview.refresh(now=now + dt.timedelta(minutes=1)) == 0 and published == []

    member = unique_member(services.system.engine)
    opened = services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="access",
                                            identity=member["email"], subject_type="member", club_code=None)
    assert services.overview.refresh(now=now + dt.timedelta(minutes=2)) == 1
    assert published[-1].requests.items[0]["ref"] == f"R-{opened.request_id}" and published[-1].approvals.total == 1
    assert services.overview.refresh(now=now + dt.timedelta(minutes=3)) == 0  # nothing new
    assert services.overview.refresh(now=now + dt.timedelta(hours=1)) == 1  # the countdowns moved on
    assert member["email"] not in str(published)
