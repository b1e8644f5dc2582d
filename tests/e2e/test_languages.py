"""Clubs read us in their language (config/clubs.yaml `language:`), on both backends, through the real
flows: the breach notice to each club and the Art. 34 notices to its members over real SMTP, the access
summary in an export opened in Slack, and a refusal's notice in the thread and through the club's API.
Clubs that set no language read English, in the same run."""
from __future__ import annotations

import json
import re
import shutil
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import yaml
from sqlalchemy import bindparam, text

from bootstrap.runtime import api_app
from devslack.driver import wait_for
from gdpr.core import models as m
from gdpr.core.crypto import read_aes_zip
from tests.conftest import ROOT, mailing_system
from tests.e2e.test_access_flow import _passphrase
from tests.e2e.test_breaches import CLUBS, click, report
from tests.e2e.test_club_api import Api, _member, _token
from tests.helpers import DPO, SUPPORT
from tests.smtp import SmtpServer

LANGUAGES = {"antwerp-north": "nl", "ghent-centre": "de", "brussels-south": "fr"}  # bruges, leuven: English


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    clubs = yaml.safe_load((folder / "clubs.yaml").read_text())
    for code, language in LANGUAGES.items():
        clubs["clubs"][code] = {**(clubs["clubs"].get(code) or {}), "language": language}
    (folder / "clubs.yaml").write_text(yaml.safe_dump(clubs))
    return folder


@pytest.fixture(params=["embedded", "postgres+redis"])
def system(request: pytest.FixtureRequest, standin, tmp_path: Path, smtp: SmtpServer, config_dir: Path):
    yield from mailing_system(request, standin, tmp_path, smtp, config_dir)


def _body(msg) -> str:
    return msg.get_payload(decode=True).decode()


def _subject(msg) -> str:
    """As a mail client shows it (a subject outside ASCII travels RFC 2047-encoded)."""
    return " ".join(str(make_header(decode_header(msg["Subject"]))).split())  # unfolded


def test_breach_notices_go_to_each_club_and_its_members_in_the_club_s_language(system, smtp: SmtpServer) -> None:
    breach_id = report(system, clubs=[CLUBS["antwerp-north"], CLUBS["ghent-centre"], "3"])  # 3: brussels-south
    click(system, DPO, "breach.notify", str(breach_id), breach_id)
    wait_for(lambda: len(smtp.received) == 3, timeout=60, what="the three club notices")
    (nl,) = smtp.to("privacy@antwerp-north.example")
    (de,) = smtp.to("dpo@ghent-centre.example")
    (fr,) = smtp.to("gdpr@brussels-south.example")
    assert _subject(nl) == f"Inbreuk in verband met persoonsgegevens B-{breach_id} bij Antwerp North Fitness"
    assert _subject(de) == f"Verletzung des Schutzes personenbezogener Daten B-{breach_id} bei Ghent Centre Gym"
    assert _subject(fr) == f"Violation de données à caractère personnel B-{breach_id} touchant Brussels South Sports"
    for msg, must in ((nl, ("melding door uw verwerker (art. 33(2) AVG)", "(a) AARD VAN DE INBREUK",
                            "Vertrouwelijkheid (verstrekking of toegang)", "bij benadering 420 personen", " om ")),
                      (de, ("Meldung Ihres Auftragsverarbeiters (Art. 33(2) DSGVO)", "(a) ART DER VERLETZUNG",
                            "Clubmitglieder", "ungefähr 1300 Datensätze", " um ")),
                      (fr, ("notification par votre sous-traitant (art. 33(2) RGPD)", "(a) NATURE DE LA VIOLATION",
                            "Membres du club", "environ 420 personnes", " à "))):
        body = _body(msg)
        for part in must:
            assert part in body, part
        # what the DPO wrote goes as written; nothing of the English frame is left
        assert "Laptop wiped remotely" in body and "NATURE OF THE BREACH" not in body and "approximately" not in body
        assert re.search(r"\d{1,2}\.? \w+ 20\d\d (om|um|à) \d\d:\d\d UTC", body)

    # Art. 34: each member is told in their club's language.
    with system.services.system.engine.connect() as conn:
        named = [n for club in (1, 2) for n in conn.execute(text(
            "SELECT member_number FROM members WHERE club_id = :c AND email IS NOT NULL ORDER BY id LIMIT 2"),
            {"c": club}).scalars()]
        clubs_of = dict(conn.execute(text("SELECT email, club_id FROM members WHERE member_number IN :n").bindparams(
            bindparam("n", expanding=True)), {"n": named}).all())
    click(system, DPO, "breach.assess", f"{breach_id}:high", breach_id)
    instructed = {"type": "checkboxes", "selected_options": [{"value": CLUBS["antwerp-north"]},
                                                             {"value": CLUBS["ghent-centre"]}]}
    ok = system.slack.submit_view(DPO, "breach.assess", f"{breach_id}:high", {
        "members": {"type": "radio_buttons", "selected_option": {"value": "notify"}},
        "reasoning": "Bank account numbers and emails together: a high risk of fraud for members.",
        "instructed": instructed, "numbers": "\n".join(named)})
    assert ok.status == 200
    preview = wait_for(lambda: [r for r in system.standin.thread(*system.where(f"B-{breach_id}", "alert"))
                                if "Art. 34 preview" in (r.get("text") or "")], timeout=20, what="the preview")[0]
    system.slack.click(DPO, "breach.members_send", str(breach_id), preview["channel"], preview["ts"])
    wait_for(lambda: system.services.breaches.get(breach_id).members_status == "done", timeout=120,
             what="the member notices")
    members = [(rcpts[0], msg) for rcpts, msg in smtp.received if rcpts[0] in clubs_of]
    assert len(members) == len(clubs_of) == 4 and {clubs_of[a] for a, _ in members} == {1, 2}
    for address, msg in members:
        body = _body(msg)
        if clubs_of[address] == 1:
            assert _subject(msg) == "Een beveiligingsincident met uw gegevens bij Antwerp North Fitness"
            assert "Wat u kunt doen om uzelf te beschermen" in body and "Beste " in body
        else:
            assert _subject(msg) == "Ein Sicherheitsvorfall mit Ihren Daten bei Ghent Centre Gym"
            assert "Wie Sie sich schützen können" in body and "Guten Tag " in body
        assert "What you can do" not in body and f"B-{breach_id}" in body


def _open_access(system, member: dict, request_id: int) -> tuple[int, dict]:
    system.slack.command(SUPPORT, f"access {member['member_number']}")
    return request_id, system.card(request_id=request_id)


def test_an_export_summary_and_a_refusal_notice_are_in_the_club_s_language(system) -> None:
    gym = system.services.system.engine
    # An access export for a member of brussels-south (fr): its summary.html is French.
    member = _member(gym, "brussels-south")
    request_id, card = _open_access(system, member, 1)
    system.wait_status(request_id, (m.AWAITING_APPROVAL,), timeout=20)
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id)
    assert done.status == m.DONE, done.error
    thread = system.standin.thread(*system.where(f"R-{done.id}", "request"))
    (file,) = [f for msg in thread for f in msg.get("files", [])]
    summary = read_aes_zip(file["path"], _passphrase(system.standin, SUPPORT))["summary.html"].decode()
    for part in ('<html lang="fr">', "Vos données à caractère personnel détenues par Brussels South Sports",
                 "Ce que nous détenons (art. 15(1)(b))", "autorité de contrôle", f"demande R-{done.id}",
                 "Établi par"):
        assert part in summary, part
    assert "What we hold" not in summary and "Your rights" not in summary

    # A refusal for a member of antwerp-north (nl): the notice in the thread and through the club's API.
    member = _member(gym, "antwerp-north")
    request_id, _ = _open_access(system, member, 2)
    system.wait_status(request_id, (m.AWAITING_APPROVAL,), timeout=20)
    system.slack.command(DPO, f"refuse R-{request_id} the fourth identical request this month, answered on 2 Nov")
    refused = system.wait_status(request_id, (m.REFUSED,), timeout=20)
    shown = wait_for(lambda: [msg for msg in system.standin.thread(*system.where(f"R-{request_id}", "request"))
                              if "Weigering van een verzoek" in json.dumps(msg)], timeout=20, what="the notice")
    notice = system.services.request_deadlines.refusal_notice(refused)
    for part in (f"Weigering van een verzoek van een betrokkene - R-{request_id}", "art. 12(5) AVG",
                 "toezichthoudende autoriteit (art. 77)", "Gegevensbeschermingsautoriteit",
                 "functionaris voor gegevensbescherming", "the fourth identical request"):
        assert part in notice and part in json.dumps(shown, ensure_ascii=False), part
    assert "judicial remedy" not in notice
    server = Api(api_app(system.services))
    try:
        seen = server.call("GET", f"/v1/requests/{request_id}", _token(system, "antwerp-north"))[1]
    finally:
        server.stop()
    assert seen["refusal_notice"] == notice

    # leuven set no language: English, in the same deployment.
    member = _member(gym, "leuven")
    request_id, _ = _open_access(system, member, 3)
    system.wait_status(request_id, (m.AWAITING_APPROVAL,), timeout=20)
    system.slack.command(DPO, f"refuse R-{request_id} the fourth identical request this month, answered on 2 Nov")
    english = system.services.request_deadlines.refusal_notice(system.wait_status(request_id, (m.REFUSED,), timeout=20))
    assert "judicial remedy (Art. 79)" in english and "Weigering" not in english
