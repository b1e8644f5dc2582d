"""The reference gym seeds deterministically with its hard cases; lookups handle them."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from gdpr.core.datamap import load_datamap
from gdpr.core.db import make_engine
from gdpr.core.errors import AmbiguousSubject, SubjectNotFound
from gdpr.core.subjects import SubjectDirectory, parse_identity
from gym.seed import seed
from tests.conftest import ROOT


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_seed_has_the_hard_cases(engine) -> None:
    assert _scalar(engine, "SELECT COUNT(*) FROM (SELECT email FROM members WHERE email IS NOT NULL "
                           "GROUP BY email HAVING COUNT(*) > 1) f") >= 1  # family email
    assert _scalar(engine, "SELECT COUNT(*) FROM members WHERE guardian_member_id IS NOT NULL") >= 1  # minors
    assert _scalar(engine, "SELECT COUNT(*) FROM members WHERE email IS NULL") >= 1
    assert _scalar(engine, "SELECT COUNT(*) FROM (SELECT first_name, last_name FROM members "
                           "GROUP BY first_name, last_name HAVING COUNT(*) > 1) n") >= 1  # namesakes
    assert _scalar(engine, "SELECT COUNT(*) FROM crm_leads WHERE converted_member_id IS NOT NULL") >= 1
    assert _scalar(engine, "SELECT COUNT(*) FROM members WHERE status = 'ended'") >= 1
    assert _scalar(engine, "SELECT COUNT(*) FROM staff_notes n JOIN members m ON m.id = n.member_id "
                           "WHERE n.body LIKE '%' || m.phone || '%'") >= 1  # notes quoting the phone
    assert _scalar(engine, "SELECT COUNT(*) FROM crm_leads WHERE status = 'rejection'") >= 1


def test_seed_is_deterministic(tmp_path) -> None:
    dumps = []
    for name in ("a", "b"):
        e = make_engine(f"sqlite:///{tmp_path / name}.db", immediate=False)
        seed(e, members=60, seed_value=5)
        with e.connect() as conn:
            dumps.append([tuple(r) for t in ("members", "visits", "staff_notes", "bank_accounts")
                          for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))])
        e.dispose()
    assert dumps[0] == dumps[1] and len(dumps[0]) > 60


def test_lookups_by_email_phone_and_number(engine) -> None:
    directory = SubjectDirectory(engine, load_datamap(ROOT / "config" / "datamap.yaml"))
    with engine.connect() as conn:
        family = conn.execute(text("SELECT email FROM members WHERE email IS NOT NULL GROUP BY email "
                                   "HAVING COUNT(*) > 1 LIMIT 1")).scalar()
        one = conn.execute(text("SELECT id, member_number, phone FROM members WHERE phone IS NOT NULL "
                                "ORDER BY id LIMIT 1")).one()
    with pytest.raises(AmbiguousSubject) as amb:
        directory.resolve(parse_identity(family, directory.patterns()), kind="member")
    assert len(amb.value.candidates) >= 2 and all(c.email == family for c in amb.value.candidates)
    assert directory.resolve(parse_identity(one.member_number, directory.patterns()), kind="member").key == str(one.id)
    by_phone = directory.find(parse_identity(one.phone, directory.patterns()), kinds=("member",))
    assert str(one.id) in {c.key for c in by_phone}
    with pytest.raises(SubjectNotFound):
        directory.resolve(parse_identity("M9999999", directory.patterns()), kind="member")
    with pytest.raises(SubjectNotFound):
        directory.resolve(parse_identity(one.member_number, directory.patterns()), kind="member", club_code="nowhere")
