"""A member who started as a CRM lead is one subject: lookup, export, preview, erasure and proof
all reach the lead's notes and consents, and a hit in them is never 'someone else's'."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from gdpr.core.crypto import read_aes_zip
from gdpr.core.datamap import load_datamap
from gdpr.core.errors import UsageError
from gdpr.core.subjects import Identity, SubjectDirectory
from gdpr.core.templating import Templates
from gdpr.erasure.engine import ErasureEngine
from gdpr.erasure.residue import residue_check
from gdpr.requests.export import Exporter
from tests.conftest import ROOT

TODAY = dt.date(2026, 11, 27)



@pytest.fixture
def datamap():
    return load_datamap(ROOT / "config" / "datamap.yaml")


def converted_member(engine) -> dict:
    """A member whose CRM lead carries follow-up notes (quoting the phone) and old and recent consents."""
    with engine.begin() as conn:
        mid, lead = conn.execute(text("SELECT converted_member_id, id FROM crm_leads WHERE converted_member_id IS NOT NULL "
                                      "ORDER BY id LIMIT 1")).one()
        mem = dict(conn.execute(text("SELECT * FROM members WHERE id = :i"), {"i": mid}).mappings().one())
        for i, body in enumerate((f"Prospect asked for a trial, call {mem['phone']}",
                                  f"{mem['first_name']} {mem['last_name']} will sign next week")):
            conn.execute(text("INSERT INTO crm_notes (id, lead_id, author_staff_id, created_at, body) "
                              "VALUES (:id, :l, 1, :t, :b)"), {"id": 7_000_000 + i, "l": lead, "t": dt.datetime(2024, 1, 2),
                                                               "b": body})
        conn.execute(text("DELETE FROM consents WHERE lead_id = :l"), {"l": lead})
        for i, withdrawn in enumerate((dt.datetime(2020, 5, 1), None)):  # withdrawn long ago; still in force
            conn.execute(text("INSERT INTO consents (id, member_id, lead_id, agreement_type_id, version, channel, granted_at, "
                              "withdrawn_at) VALUES (:id, NULL, :l, 1, 1, 'web', '2019-05-01 10:00:00', :w)"),
                         {"id": 7_000_000 + i, "l": lead, "w": withdrawn})
    return {**mem, "lead_id": lead, "full_name": f"{mem['first_name']} {mem['last_name']}"}


def test_export_holds_the_converted_leads_notes_and_consents(engine, datamap, tmp_path) -> None:
    member = converted_member(engine)
    exporter = Exporter(engine, datamap, Templates(ROOT / "templates"), tmp_path)
    export = exporter.build(request_id=1, kind="member", key=str(member["id"]), passphrase="pass phrase")
    data = json.loads(read_aes_zip(export.path, "pass phrase")["data.json"])
    notes = [n["body"] for n in data["tables"]["crm_notes"]]
    assert len(notes) == 2 and member["phone"] in notes[0]
    assert {7_000_000, 7_000_001} <= {c["id"] for c in data["tables"]["consents"]}
    assert [lead["id"] for lead in data["tables"]["crm_leads"]] == [member["lead_id"]]


def test_preview_erasure_and_proof_cover_the_lead(engine, datamap) -> None:
    member = converted_member(engine)
    erasure = ErasureEngine(engine, datamap, today=lambda: TODAY)
    plan = {t.table: t for t in erasure.plan(kind="member", key=str(member["id"])).tables}
    with engine.connect() as conn:
        member_consents = conn.execute(text("SELECT COUNT(*) FROM consents WHERE member_id = :m AND "
                                            "(withdrawn_at IS NULL OR withdrawn_at > :c)"),
                                       {"m": member["id"], "c": dt.datetime(2023, 11, 27)}).scalar()
    assert plan["crm_notes"].rows == 2 and plan["consents"].held == member_consents + 1

    ids = erasure.identifiers(kind="member", key=str(member["id"]))
    assert member["phone"].lower() in ids.values  # the lead holds the same phone: still the subject's alone
    report = erasure.erase(kind="member", key=str(member["id"]))
    assert report.counts["crm_notes"]["erased"] == 2
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM crm_notes WHERE lead_id = :l"), {"l": member["lead_id"]}).scalar() == 0
        kept = conn.execute(text("SELECT id, lead_id, member_id FROM consents WHERE id >= 7000000")).all()
    # the one in force stays as proof, cut from the lead and the member; the one withdrawn in 2020 went
    assert [tuple(r) for r in kept] == [(7_000_001, None, None)]
    with engine.connect() as conn:  # the erasure withdrew it: its 3 years of proof run from today
        withdrawn = conn.execute(text("SELECT withdrawn_at FROM consents WHERE id = 7000001")).scalar()
    assert str(withdrawn).startswith(TODAY.isoformat())
    assert residue_check(engine, datamap, erasure, kind="member", key=str(member["id"]), identifiers=ids).hits == []

    with engine.begin() as conn:  # a note that escaped the erasure, linked only through the lead
        conn.execute(text("INSERT INTO crm_notes (id, lead_id, author_staff_id, created_at, body) VALUES "
                          "(7000009, :l, 1, :t, :b)"), {"l": member["lead_id"], "t": dt.datetime(2024, 1, 3),
                                                        "b": f"Met {member['full_name']} again"})
    residue = residue_check(engine, datamap, erasure, kind="member", key=str(member["id"]), identifiers=ids)
    assert [(h.table, h.column, h.rows) for h in residue.hits] == [("crm_notes", "body", 1)]


def test_lookup_treats_the_lead_as_the_member(engine, datamap) -> None:
    member = converted_member(engine)
    directory = SubjectDirectory(engine, datamap)
    found = directory.find(Identity("email", member["email"].lower()), kinds=("member", "lead"))
    assert [(c.kind, c.key) for c in found] == [("member", str(member["id"]))]
    with pytest.raises(UsageError, match=member["member_number"]):
        directory.resolve(Identity("email", member["email"].lower()), kind="lead")
