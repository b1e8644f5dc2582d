"""The find use case, without Slack: masking decided by permission, every lookup audited, refusals audited."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from gdpr.app.lookup import FindSubjects
from gdpr.core.access import load_policy
from gdpr.core.audit import AuditLog
from gdpr.core.authz import Authorizer
from gdpr.core.datamap import load_datamap
from gdpr.core.db import Database
from gdpr.core.errors import NotAllowed
from gdpr.core.keyring import KeyRing
from gdpr.core.migrate import upgrade_database
from gdpr.core.subjects import SubjectDirectory
from gdpr.grants.service import GrantService
from gdpr.requests.service import RequestService, utcnow
from tests.conftest import ROOT
from tests.helpers import DPO, STRANGER, SUPPORT, unique_member


@pytest.fixture
def find(engine, tmp_path: Path):
    state = Database(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    upgrade_database(state)
    audit = AuditLog(b"k" * 32)
    policy = load_policy(ROOT / "config" / "roles.yaml")
    use_case = FindSubjects(state, audit, Authorizer(policy, state, audit, GrantService(state, audit, utcnow)),
                            SubjectDirectory(engine, load_datamap(ROOT / "config" / "datamap.yaml")),
                            RequestService(state, audit, KeyRing([b"k" * 32])))
    yield use_case, policy, state
    state.dispose()


def _actions(state: Database) -> list[str]:
    with state.session() as s:
        return list(s.execute(text("SELECT action FROM audit_events ORDER BY seq")).scalars())


def test_support_sees_masked_the_dpo_in_the_clear_and_every_view_is_audited(find, engine) -> None:
    use_case, policy, state = find
    member = unique_member(engine)
    masked = use_case(actor=policy.actor(SUPPORT), text=member["email"], club_code=None)
    assert masked.how == "email" and not masked.unmasked and len(masked.subjects) == 1
    assert member["email"] not in str(masked.subjects[0].fields) and masked.subjects[0].fields["number"]
    clear = use_case(actor=policy.actor(DPO, frozenset({"S0DPOTEAM"})), text=member["email"], club_code=None)
    assert clear.unmasked and clear.subjects[0].fields["email"] == member["email"]
    assert _actions(state) == ["subject.viewed", "subject.viewed"]
    with engine.connect() as conn:  # only the unmasked view lands in the member's change history
        views = conn.execute(text("SELECT actor FROM member_change_log WHERE member_id = :m AND action = 'VIEW' "
                                  "AND actor LIKE 'slack:%'"), {"m": member["id"]}).scalars().all()
    assert views == [f"slack:{DPO}"]


def test_a_stranger_is_refused_and_the_refusal_is_audited(find, engine) -> None:
    use_case, policy, state = find
    with pytest.raises(NotAllowed):
        use_case(actor=policy.actor(STRANGER), text=unique_member(engine)["email"], club_code=None)
    assert _actions(state) == ["access.denied"]
