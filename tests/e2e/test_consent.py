"""Consent end to end, on both backends, the way Slack drives it: a member linked to an integration
withdraws its agreement - the link is disabled, the integration (down, then up) is told exactly once
through the outbox, the thread shows it; withdrawing `marketing` suppresses every marketing agreement;
`/gdpr consent` shows the record; the consent check finds a planted violation."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from devslack.driver import wait_for
from gdpr.core import models as m
from tests.conftest import ROOT, SECRET
from tests.helpers import SUPPORT, ephemerals
from tests.recipients import RecipientServer, config_with_recipients, serve


@pytest.fixture
def recipients():
    yield from serve({"virtuagym": RecipientServer(fail_first=2)})  # down twice, then up


@pytest.fixture
def system_config(tmp_path: Path, recipients) -> Path:
    return config_with_recipients(ROOT / "config", tmp_path / "config", recipients)


def _linked_member(gym) -> dict:
    """A member with an active Virtuagym link (and so its agreement in force) and a newsletter agreement."""
    with gym.connect() as conn:
        member = dict(conn.execute(text(
            "SELECT m.id, m.member_number, m.email FROM members m JOIN integration_links l ON l.member_id = m.id "
            "WHERE l.provider = 'virtuagym' AND l.active AND m.email IS NOT NULL ORDER BY m.id LIMIT 1")).mappings().one())
    with gym.begin() as conn:  # a write first (no read before it): on SQLite it waits for the bot's writer
        conn.execute(text("INSERT INTO consents (id, member_id, agreement_type_id, version, channel, granted_at) "
                          "VALUES (9000001, :m, 3, 1, 'web', :t)"), {"m": member["id"], "t": dt.datetime(2024, 1, 1)})
    return member


def _in_force(gym, member_id: int, codes: tuple[str, ...]) -> int:
    with gym.connect() as conn:
        return conn.execute(text(
            "SELECT COUNT(*) FROM consents c JOIN agreement_types t ON t.id = c.agreement_type_id WHERE c.member_id = :m "
            f"AND c.withdrawn_at IS NULL AND t.code IN ({', '.join(repr(c) for c in codes)})"), {"m": member_id}).scalar()


def _withdraw(system, member: dict, what: str) -> m.SubjectRequest:
    before = len(ephemerals(system.standin, SUPPORT))
    system.slack.command(SUPPORT, f"withdraw {member['member_number']} {what}")
    said = wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, SUPPORT)[before:] if "R-" in e["text"]),
                                 None), timeout=20, what="withdrawal recorded")
    request_id = int(said.split("R-")[1].split(":")[0])
    return system.wait_status(request_id, (m.DONE, m.FAILED), timeout=60)


def test_withdrawal_disables_the_link_tells_the_integration_once_and_suppresses_marketing(system, gym, recipients) -> None:
    member = _linked_member(gym)
    done = _withdraw(system, member, "virtuagym")
    assert done.status == m.DONE and done.result["withdrawn"] == ["virtuagym"] and done.result["links_disabled"] == 1
    with gym.connect() as conn:
        assert conn.execute(text("SELECT active FROM integration_links WHERE member_id = :m AND provider = 'virtuagym'"),
                            {"m": member["id"]}).scalars().all() == [False]
    assert _in_force(gym, member["id"], ("virtuagym",)) == 0
    posts = recipients["virtuagym"].received
    assert len(posts) == 3 and len({p["key"] for p in posts}) == 1  # two 503s, then one 200: the same notice
    assert posts[-1]["body"]["type"] == "consent_withdrawn" and posts[-1]["body"]["agreements"] == ["virtuagym"]
    assert member["email"] not in json.dumps(posts)
    told = wait_for(lambda: "sent" in (t := json.dumps(system.standin.thread(*system.where(f"R-{done.id}", "request"))))
                    and t, timeout=20, what="the recipients' message to show it sent")  # its update follows the status
    assert "virtuagym" in told

    assert _in_force(gym, member["id"], ("newsletter",)) >= 1
    marketing = _withdraw(system, member, "marketing")
    assert marketing.status == m.DONE and "newsletter" in marketing.result["withdrawn"]
    assert _in_force(gym, member["id"], ("newsletter", "phone_marketing")) == 0  # marketing suppressed
    assert len(recipients["virtuagym"].received) == 3  # nothing more told: no integration rests on marketing

    system.slack.command(SUPPORT, f"consent {member['member_number']}")
    shown = wait_for(lambda: next((e for e in ephemerals(system.standin, SUPPORT) if "agreement(s)" in e["text"]), None),
                     timeout=20, what="consent answer")
    assert "virtuagym (integration)" in json.dumps(shown) and "withdrawn" in json.dumps(shown)
    assert member["email"] not in json.dumps(shown)  # support sees the subject masked


def test_the_consent_check_finds_a_planted_violation_and_terms_cannot_be_withdrawn(system, gym) -> None:
    assert system.services.consent.check().total == 0  # the reference data keeps links and agreements together
    with gym.begin() as conn:
        mid = conn.execute(text("SELECT m.id FROM members m WHERE NOT EXISTS (SELECT 1 FROM consents c WHERE "
                                "c.member_id = m.id AND c.agreement_type_id = 7) ORDER BY m.id LIMIT 1")).scalar()
        conn.execute(text("INSERT INTO integration_links (id, member_id, provider, external_id, linked_at, active) "
                          "VALUES (9000001, :m, 'milon', 'MI-planted', :t, :a)"), {"m": mid, "t": dt.datetime(2026, 1, 1),
                                                                                   "a": True})
    found = system.services.consent.check()
    assert found.total == 1 and found.samples == [(str(mid), "milon")]
    with gym.connect() as conn:
        number = conn.execute(text("SELECT member_number FROM members WHERE id = :m"), {"m": mid}).scalar()
    system.slack.command(SUPPORT, f"withdraw {number} terms")
    assert wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, SUPPORT) if "does not rest on consent"
                                  in e["text"]), None), timeout=20, what="terms refused")


def _profiling_member(gym) -> dict:
    """A member with a marketing (newsletter) and a profiling agreement in force."""
    member = _linked_member(gym)
    with gym.begin() as conn:
        conn.execute(text("INSERT INTO consents (id, member_id, agreement_type_id, version, channel, granted_at) "
                          "VALUES (9000002, :m, 5, 1, 'web', :t)"), {"m": member["id"], "t": dt.datetime(2024, 1, 1)})
        conn.execute(text("UPDATE consents SET withdrawn_at = NULL WHERE id IN (9000001, 9000002)"))
    return member


def test_an_objection_to_marketing_stops_profiling_for_it_too(system, gym) -> None:
    member = _profiling_member(gym)
    assert _in_force(gym, member["id"], ("profiling",)) >= 1
    before = len(ephemerals(system.standin, SUPPORT))
    system.slack.command(SUPPORT, f"object {member['member_number']} marketing")
    said = wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, SUPPORT)[before:] if "R-" in e["text"]),
                                 None), timeout=20, what="objection recorded")
    done = system.wait_status(int(said.split("R-")[1].split(":")[0]), (m.DONE, m.FAILED), timeout=60)
    assert done.status == m.DONE and {"newsletter", "profiling"} <= set(done.result["withdrawn"])
    assert _in_force(gym, member["id"], ("newsletter", "phone_marketing", "profiling")) == 0
    assert _in_force(gym, member["id"], ("virtuagym",)) == 1  # the integration's agreement is not marketing


def test_a_restore_then_ledger_replay_applies_an_erasure_a_withdrawal_and_an_objection(system, gym,
                                                                                      platform_backup) -> None:
    from tests.e2e.test_erasure import rich_member
    from tests.helpers import file_and_approve
    member, other = _profiling_member(gym), rich_member(gym)
    backup = platform_backup(system.settings.system_url)  # the platform's backup, taken before all three
    withdrawn = _withdraw(system, member, "virtuagym")
    before = len(ephemerals(system.standin, SUPPORT))
    system.slack.command(SUPPORT, f"object {member['member_number']} marketing")
    said = wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, SUPPORT)[before:] if "R-" in e["text"]),
                                 None), timeout=20, what="objection recorded")
    objected = system.wait_status(int(said.split("R-")[1].split(":")[0]), (m.DONE, m.FAILED), timeout=60)
    erased = system.wait_status(file_and_approve(system, "erase", other["member_number"]),
                                (m.DONE, m.NOTIFYING, m.FAILED), timeout=120)
    assert (withdrawn.status, objected.status) == (m.DONE, m.DONE) and erased.status != m.FAILED

    env = {"DATABASE_URL": system.settings.database_url, "SYSTEM_DATABASE_URL": backup, "SECRET_KEY": SECRET,
           "CONFIG_DIR": str(system.settings.config_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bootstrap.cli", "ledger", "replay"], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "withdrawals and objections: 2 in the ledger, 2 re-applied" in out.stdout, out.stdout
    assert f"re-applied R-{erased.id} (member)" in out.stdout
    from gdpr.core.db import make_engine
    restored = make_engine(backup, immediate=False)
    try:
        assert _in_force(restored, member["id"], ("virtuagym", "newsletter", "phone_marketing", "profiling")) == 0
        with restored.connect() as conn:
            active = conn.execute(text("SELECT active FROM integration_links WHERE member_id = :m AND provider = "
                                       "'virtuagym'"), {"m": member["id"]}).scalars().all()
            email = conn.execute(text("SELECT email FROM members WHERE id = :m"), {"m": other["id"]}).scalar()
            when = conn.execute(text("SELECT withdrawn_at FROM consents WHERE id = 9000002")).scalar()
        assert not any(active) and email is None and when is not None
    finally:
        restored.dispose()
    again = subprocess.run([sys.executable, "-m", "bootstrap.cli", "ledger", "replay"], env=env, cwd=ROOT,
                           capture_output=True, text=True)
    assert "withdrawals and objections: 2 in the ledger, 0 re-applied" in again.stdout, again.stdout


def _visits_notes(gym, member: dict) -> tuple[int, int, int]:
    with gym.connect() as conn:
        return tuple(conn.execute(text(f"SELECT COUNT(*) FROM {t} WHERE member_id = :m"), {"m": member["id"]}).scalar()
                     for t in ("visits", "staff_notes", "invoices"))  # type: ignore[return-value]


def test_an_objection_to_legitimate_interests_is_the_clubs_to_decide(system, gym) -> None:
    from tests.e2e.test_erasure import rich_member
    from tests.helpers import DPO
    member = rich_member(gym)
    visits, notes, invoices = _visits_notes(gym, member)
    assert visits and notes and invoices
    system.slack.command(SUPPORT, f"object {member['member_number']} interests")
    said = wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, SUPPORT) if "Art. 21(1)" in e["text"]),
                                 None), timeout=20, what="objection recorded")
    request_id = int(said.split("R-")[1].split(":")[0])
    card = system.card(request_id=request_id)
    shown = json.dumps(card)
    assert "If the club upholds it" in shown and "`visits`" in shown and "`invoices`" not in shown  # what it stops
    assert member["email"] not in shown
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id, (m.DONE, m.FAILED), timeout=60)
    assert done.status == m.DONE and done.result["rows"] >= visits + notes
    assert _visits_notes(gym, member) == (0, 0, invoices)  # legitimate interests stop; the contract's data stays
    with gym.connect() as conn:
        assert conn.execute(text("SELECT email FROM members WHERE id = :m"), {"m": member["id"]}).scalar() == \
            member["email"]  # an objection is not an erasure of the member

    other = _linked_member(gym)
    before = _visits_notes(gym, other)
    system.slack.command(SUPPORT, f"object {other['member_number']} interests")
    card = system.card(request_id=request_id + 1)
    system.slack.click(DPO, "request.reject", str(request_id + 1), card["channel"], card["ts"])
    system.slack.submit_view(DPO, "request.reject_reason", str(request_id + 1),
                             {"reason": "The club's security camera log outweighs it (Art. 21(1))"})
    rejected = system.wait_status(request_id + 1, (m.REJECTED,), timeout=20)
    assert rejected.reject_reason.startswith("The club's security") and _visits_notes(gym, other) == before


def test_an_upheld_objection_is_applied_again_after_a_restore(system, gym, platform_backup) -> None:
    from tests.e2e.test_erasure import rich_member
    from tests.helpers import file_and_approve
    member = rich_member(gym)
    backup = platform_backup(system.settings.system_url)
    upheld = system.wait_status(file_and_approve(system, "object", f"{member['member_number']} interests"),
                                (m.DONE, m.FAILED), timeout=60)
    assert upheld.status == m.DONE
    env = {"DATABASE_URL": system.settings.database_url, "SYSTEM_DATABASE_URL": backup, "SECRET_KEY": SECRET,
           "CONFIG_DIR": str(system.settings.config_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bootstrap.cli", "ledger", "replay"], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0 and "withdrawals and objections: 1 in the ledger, 1 re-applied" in out.stdout, out
    from gdpr.core.db import make_engine
    restored = make_engine(backup, immediate=False)
    try:
        assert _visits_notes(restored, member)[:2] == (0, 0)
    finally:
        restored.dispose()


def test_withdrawing_an_agreement_never_given_is_answered_up_front(system, gym) -> None:
    """Issue 23, defect 8: it opened a request that ended with nothing withdrawn."""
    with gym.connect() as conn:
        number = conn.execute(text("SELECT m.member_number FROM members m WHERE NOT EXISTS (SELECT 1 FROM consents c "
                                   "JOIN agreement_types t ON t.id = c.agreement_type_id WHERE c.member_id = m.id "
                                   "AND t.code = 'newsletter' AND c.withdrawn_at IS NULL) ORDER BY m.id LIMIT 1")).scalar()
    with system.services.db.session() as s:
        before = s.query(m.SubjectRequest).count()
    system.slack.command(SUPPORT, f"withdraw {number} newsletter")
    said = wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, SUPPORT) if "nothing to withdraw"
                                  in e["text"]), None), timeout=20, what="the answer")
    assert "no `newsletter` agreement in force" in said
    with system.services.db.session() as s:
        assert s.query(m.SubjectRequest).count() == before  # no request opened
