"""The export: everything the data map names for one subject, nothing of anyone else, AES-256."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
import pyzipper
from sqlalchemy import text

from gdpr.core.crypto import new_passphrase, read_aes_zip
from gdpr.core.datamap import load_datamap
from gdpr.core.templating import Templates
from gdpr.requests.export import Exporter
from tests.conftest import ROOT
from tests.helpers import unique_member


@pytest.fixture
def exporter(engine, tmp_path) -> Exporter:
    return Exporter(engine, load_datamap(ROOT / "config" / "datamap.yaml"), Templates(ROOT / "templates"),
                    tmp_path / "exports")


def test_export_holds_the_subject_and_no_third_party(engine, exporter: Exporter) -> None:
    member = unique_member(engine, with_notes=True)
    with engine.begin() as conn:  # a converted lead and a guardian link: both must be handled right
        conn.execute(text("UPDATE members SET guardian_member_id = 1 WHERE id = :i"), {"i": member["id"]})
        expected = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t} WHERE member_id = :i"), {"i": member["id"]}).scalar()
                    for t in ("visits", "invoices", "staff_notes", "member_change_log")}
        expected["consents"] = conn.execute(text(  # the member's own and those given as a lead before joining
            "SELECT COUNT(*) FROM consents WHERE member_id = :i OR lead_id IN "
            "(SELECT id FROM crm_leads WHERE converted_member_id = :i)"), {"i": member["id"]}).scalar()
    phrase = new_passphrase()
    export = exporter.build(request_id=7, kind="member", key=str(member["id"]), passphrase=phrase)
    assert export.name.startswith("export-R7-") and member["email"] not in export.name
    files = read_aes_zip(export.path, phrase)
    data = json.loads(files["data.json"])
    for table, n in expected.items():
        assert len(data["tables"][table]) == n == export.counts[table]
    assert data["tables"]["members"][0]["email"] == member["email"]
    flat = json.dumps(data)
    for third_party in ("guardian_member_id", "author_staff_id", '"actor"'):
        assert third_party not in flat
    rows = list(csv.DictReader(io.StringIO(files["csv/staff_notes.csv"].decode())))
    assert len(rows) == expected["staff_notes"] and "author_staff_id" not in rows[0]
    schema = json.loads(files["schema.json"])
    assert set(schema["properties"]["tables"]["properties"]) == set(data["tables"])


def test_archive_is_aes_256_never_zipcrypto(engine, exporter: Exporter) -> None:
    member = unique_member(engine)
    export = exporter.build(request_id=1, kind="member", key=str(member["id"]), passphrase="correct horse")
    with zipfile.ZipFile(export.path) as raw:  # the stdlib reads the headers as written
        infos = raw.infolist()
    assert len(infos) >= 5
    for info in infos:
        assert info.compress_type == 99 and info.flag_bits & 0x1  # 99 = WinZip AES; encrypted
        i = info.extra.find(b"\x01\x99")
        assert i >= 0 and info.extra[i + 8] == 3  # AE-x extra field: strength 3 = AES-256
    with pyzipper.AESZipFile(export.path) as zf:
        zf.setpassword(b"wrong")
        with pytest.raises(RuntimeError):
            zf.read("data.json")


def test_summary_answers_article_15(engine, exporter: Exporter) -> None:
    member = unique_member(engine)
    context = exporter.summary_context(request_id=3, kind="member", key=str(member["id"]),
                                       counts={"members": 1, "visits": 4, "bank_accounts": 1})
    assert {"identity", "behavioural", "financial"} <= set(context["categories"])
    assert any("SEPA" in r["purpose"] or "bank" in r["name"] for r in context["recipients"])
    assert context["controller"]["name"] and context["authority"]["name"].endswith("(Belgium)")
    assert context["processor"]["name"] == "Gym Platform NV"


def test_the_authority_named_is_the_one_of_the_clubs_country(engine, exporter: Exporter) -> None:
    member = unique_member(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE clubs SET country = 'NL' WHERE id = (SELECT club_id FROM members WHERE id = :i)"),
                     {"i": member["id"]})
    context = exporter.summary_context(request_id=5, kind="member", key=str(member["id"]), counts={"members": 1})
    assert context["authority"]["name"].startswith("Autoriteit Persoonsgegevens")
    html = exporter._summary(5, "member", str(member["id"]), {"members": 1})
    assert "Autoriteit Persoonsgegevens" in html and "Gym Platform NV" in html


def test_summary_names_only_the_integrations_the_member_is_linked_to(engine, exporter: Exporter) -> None:
    member = unique_member(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM integration_links WHERE member_id = :i"), {"i": member["id"]})
        conn.execute(text("INSERT INTO integration_links (id, member_id, provider, external_id, linked_at, active) "
                          "VALUES (9000001, :i, 'milon', 'MI-1', '2025-01-01 10:00:00', true)"), {"i": member["id"]})
    counts = {"members": 1, "integration_links": 1, "body_measurements": 2, "class_bookings": 3}
    names = {r["name"] for r in exporter.summary_context(request_id=4, kind="member", key=str(member["id"]),
                                                         counts=counts)["recipients"]}
    assert any(n.startswith("milon") for n in names)
    assert not any(n.startswith(("Virtuagym", "Clubplanner", "Technogym")) for n in names), names
    assert "The club (controller) and its staff" in names


def test_a_subject_s_copy_keeps_other_people_s_data_back_and_says_what_and_why(engine, exporter: Exporter) -> None:
    """Art. 15(4): the emergency contact's name and number are withheld, staff notes are handed over with
    another person's name, address, number and a colleague's reference replaced; the member's own details
    stay; the summary and data.json say what was kept back; the club's own copy is whole."""
    member, other = unique_member(engine), unique_member(engine, skip=1)
    with engine.begin() as conn:
        full = conn.execute(text("SELECT first_name, last_name, phone FROM members WHERE id = :i"),
                            {"i": member["id"]}).one()
        conn.execute(text("DELETE FROM emergency_contacts WHERE member_id = :i"), {"i": member["id"]})
        conn.execute(text("DELETE FROM staff_notes WHERE member_id = :i"), {"i": member["id"]})
        conn.execute(text("INSERT INTO emergency_contacts (id, member_id, contact_name, contact_phone, relation) "
                          "VALUES (900001, :i, 'Griet Vandamme', '+32 477 61 52 43', 'parent')"), {"i": member["id"]})
        notes = [f"Came in with {other['first_name']} {other['last_name']} ({other['email']}), call them on 0498 12 34 56.",
                 "Complained about the changing rooms, handed to staff #7.",
                 f"Prefers {full.phone} after 18:00; {full.first_name} {full.last_name} asked for a freeze.",
                 "Knee injury mentioned, advised to see the physiotherapist."]
        for i, body in enumerate(notes):
            conn.execute(text("INSERT INTO staff_notes (id, member_id, author_staff_id, created_at, body) "
                              "VALUES (:id, :i, 1, '2026-01-02 10:00:00', :b)"), {"id": 900001 + i, "i": member["id"], "b": body})
    phrase = new_passphrase()
    export = exporter.build(request_id=8, kind="member", key=str(member["id"]), passphrase=phrase)
    files = read_aes_zip(export.path, phrase)
    everything = "\n".join(v.decode() for v in files.values())  # a search that does not use the data map
    for gone in ("Griet", "Vandamme", "477 61 52 43", other["first_name"] + " " + other["last_name"], other["email"],
                 "0498 12 34 56", "staff #7"):
        assert gone not in everything, gone
    data = json.loads(files["data.json"])
    assert data["tables"]["emergency_contacts"] == [{"id": 900001, "relation": "parent"}]
    assert csv.DictReader(io.StringIO(files["csv/emergency_contacts.csv"].decode())).fieldnames == ["id", "relation"]
    bodies = [r["body"] for r in data["tables"]["staff_notes"]]
    assert bodies[0] == "Came in with [redacted] ([redacted]), call them on [redacted]."
    assert bodies[1] == "Complained about the changing rooms, handed to [redacted]."
    assert bodies[2] == notes[2] and bodies[3] == notes[3]  # the member's own name and number are theirs
    assert data["withheld_for_others"] == {
        "withheld": {"emergency_contacts": {"columns": ["contact_name", "contact_phone"], "rows": 1}},
        "redacted": {"staff_notes": {"columns": ["body"], "passages": 4, "rows": 2}}}
    summary = files["summary.html"].decode()
    assert "Other people&#39;s data (Art. 15(4))" in summary or "Other people's data (Art. 15(4))" in summary
    assert "emergency contacts: contact name, contact phone withheld in 1 row(s)" in summary
    assert "4 passage(s) naming or reaching another person replaced with [redacted], in 2 row(s)" in summary
    schema = json.loads(files["schema.json"])
    assert set(schema["properties"]["tables"]["properties"]["emergency_contacts"]["items"]["properties"]) == {"id", "relation"}

    club_copy = exporter.build_return(name="return.zip", parts=[("member", [member["id"]])],
                                      header={"club": "test"}, passphrase=phrase)
    returned = json.loads(read_aes_zip(club_copy.path, phrase)["member/data.json"])
    assert returned["tables"]["emergency_contacts"][0]["contact_name"] == "Griet Vandamme"  # the controller's: whole
    assert returned["tables"]["staff_notes"][0]["body"] == notes[0] and "withheld_for_others" not in returned


def test_a_member_without_other_people_s_data_gets_no_such_section(engine, exporter: Exporter) -> None:
    member = unique_member(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM emergency_contacts WHERE member_id = :i"), {"i": member["id"]})
        conn.execute(text("DELETE FROM staff_notes WHERE member_id = :i"), {"i": member["id"]})
    phrase = new_passphrase()
    files = read_aes_zip(exporter.build(request_id=9, kind="member", key=str(member["id"]), passphrase=phrase).path, phrase)
    assert json.loads(files["data.json"])["withheld_for_others"] == {"withheld": {}, "redacted": {}}
    assert "Art. 15(4)" not in files["summary.html"].decode()
