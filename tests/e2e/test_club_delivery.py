"""Where an access export opened in Slack goes, per club (config/clubs.yaml), on both backends: `both`
(ghent-centre, as shipped) - the file in the thread with its passphrase to the requester by DM, and the
same archive for the club's API with the passphrase mailed to its GDPR contact; `api` - only the latter,
and the card says so. The thread says which."""
from __future__ import annotations

import email
import json
from pathlib import Path

import pytest
import yaml

from bootstrap.runtime import api_app
from gdpr.core import models as m
from gdpr.core.crypto import read_aes_zip
from tests.conftest import ROOT
from tests.e2e.test_club_api import Api, _member, _token
from tests.helpers import DPO, SUPPORT


@pytest.fixture
def system_config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    import shutil
    shutil.copytree(ROOT / "config", folder)
    clubs = yaml.safe_load((folder / "clubs.yaml").read_text())
    clubs["clubs"]["antwerp-north"] = {"delivery": "api"}
    (folder / "clubs.yaml").write_text(yaml.safe_dump(clubs))
    return folder


def _access(system, member: dict, request_id: int) -> m.SubjectRequest:
    system.slack.command(SUPPORT, f"access {member['member_number']}")
    card = system.card(request_id=request_id)
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    system.wait_status(request_id, (m.AWAITING_APPROVAL,), timeout=20)
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id)
    assert done.status == m.DONE, done.error
    return done


def _mailed(system, request_id: int) -> list[str]:
    mails = [email.message_from_bytes(p.read_bytes()) for p in Path(system.settings.outbox_dir).glob("*.eml")]
    return [mail.get_payload(decode=True).decode().split("passphrase is:")[1].split()[0] for mail in mails
            if mail["Subject"] == f"Passphrase for R-{request_id}"]


def test_both_and_api_deliveries_send_the_archive_where_the_club_asked(system, gym) -> None:
    server = Api(api_app(system.services))
    try:
        ghent = _access(system, _member(gym, "ghent-centre"), 1)
        thread = system.standin.thread(*system.where(f"R-{ghent.id}", "request"))
        files = [f for msg in thread for f in msg.get("files", [])]
        dm = [c["text"] for c in system.standin.channel(f"D{SUPPORT}") if f"R-{ghent.id}" in (c.get("text") or "")]
        assert len(files) == 1 and len(dm) == 1 and "also available to the club" in json.dumps(thread)
        mailed = _mailed(system, ghent.id)
        assert len(mailed) == 1 and mailed[0] in dm[0]  # one archive, one passphrase, to both
        status = server.call("GET", f"/v1/requests/{ghent.id}", _token(system, "ghent-centre"))[1]
        assert status["download_url"] and status["opened_through_api"] is False

        antwerp_member = _member(gym, "antwerp-north")
        antwerp = _access(system, antwerp_member, 2)
        thread = system.standin.thread(*system.where(f"R-{antwerp.id}", "request"))
        assert not [f for msg in thread for f in msg.get("files", [])]  # not in Slack at all
        assert not [c for c in system.standin.channel(f"D{SUPPORT}") if f"R-{antwerp.id}" in (c.get("text") or "")]
        assert antwerp.file_id.startswith("link:") and "available to the club through its API" in json.dumps(thread)
        token = _token(system, "antwerp-north")
        link = server.call("GET", f"/v1/requests/{antwerp.id}", token)[1]["download_url"]
        code, archive, _ = server.call("GET", "/v1/downloads/" + link.rsplit("/", 1)[1], token)
        zipped = system.tmp / "antwerp.zip"
        zipped.write_bytes(archive)  # type: ignore[arg-type]
        data = json.loads(read_aes_zip(zipped, _mailed(system, antwerp.id)[0])["data.json"])
        assert code == 200 and [r["email"] for r in data["tables"]["members"]] == [antwerp_member["email"]]
    finally:
        server.stop()
