"""A SECRET_KEY rotation end to end, on both backends (issue 22, finding 3): the new key goes in SECRET_KEY,
the old one in SECRET_KEY_FALLBACKS, `gdpr-bot keys rotate` re-keys what can be. Afterwards a club's token
issued before still works (and is re-hashed under the new key), the audit chain verifies (and would not
without the old key), a download link made before still opens (its sealed token re-sealed: the new key
alone opens it), the subject's pseudonyms are the new key's and still find the old history, a backup
made before restores, and a statement signed before verifies against the published keys."""
from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from bootstrap.compose import build
from gdpr.clubs.downloads import Downloads
from gdpr.clubs.offboarding import SIGNING_PURPOSE
from gdpr.clubs.tokens import ClubTokens
from gdpr.core import models as m
from gdpr.core.crypto import sign_document, verify_document
from gdpr.core.keyring import KeyRing
from gdpr.requests.certificates import PURPOSE as CERTIFICATES
from gdpr.requests.service import RequestService
from tests.conftest import SECRET
from tests.helpers import file_and_approve, unique_member
from tests.integration.test_backup import _cli, _counts, _wipe

CLUB = "ghent-centre"


def test_a_key_rotation_keeps_tokens_chain_links_pseudonyms_backups_and_signatures(system, gym, tmp_path: Path) -> None:
    old = system.services
    issued = old.club_tokens.issue(club=CLUB, by="U0DPO", allowed=None)
    member = unique_member(gym)
    request_id = file_and_approve(system, "access", member["member_number"])
    assert system.wait_status(request_id).status == m.DONE
    old.downloads.create(request_id=request_id)
    link = old.downloads.live(request_id=request_id)
    assert link is not None
    statement = sign_document({"club": CLUB, "residue": 0}, old.ring.signer(SIGNING_PURPOSE))
    url = system.settings.database_url
    made = _cli("backup", "--to", str(tmp_path / "backups"), db=url)
    assert made.returncode == 0, made.stderr[-2000:]
    backup = next((tmp_path / "backups").glob("gdpr-state-*.bak"))

    new_key = secrets.token_hex(32)
    rotated = {"SECRET_KEY": new_key, "SECRET_KEY_FALLBACKS": SECRET}
    done = _cli("keys", "rotate", db=url, **rotated)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "re-sealed" in done.stdout and new_key not in done.stdout + done.stderr
    new = build(system.settings.model_copy(update={"secret_key": SecretStr(new_key), "secret_key_fallbacks": SecretStr(SECRET)}),
                broker=old.broker, actors=old.actors, slack=old.slack)
    alone = KeyRing([new_key.encode()])  # what only the new key opens has been re-keyed

    # club tokens: still valid, re-hashed under the new key on first use
    assert new.club_tokens.verify(issued.token, "127.0.0.1") == CLUB
    assert ClubTokens(new.db, new.audit, alone, new.requests.clock).verify(issued.token, "127.0.0.1") == CLUB
    # the download link made before: found by its old hash, its sealed token re-sealed under the new key
    assert new.downloads.request_of(link[1]) == request_id
    assert Downloads(new.db, new.audit, alone, new.requests.clock, old.downloads.ttl).live(request_id=request_id)[1] == link[1]
    # pseudonyms: the request's is the new key's; the history written under the old one is still found
    req = new.requests.get(request_id)
    assert req.subject_ref == new.requests.pseudonym(req.subject_type, req.subject_key) != old.requests.pseudonym(
        req.subject_type, req.subject_key)
    assert RequestService(new.db, new.audit, alone).of_subject(req.subject_ref)[0].id == request_id
    with new.db.session() as s:
        refs = set(s.execute(select(m.AuditEvent.subject_ref).where(m.AuditEvent.request_id == request_id)).scalars())
    assert old.requests.pseudonym(req.subject_type, req.subject_key) in refs
    assert set(new.requests.pseudonyms(req.subject_type, req.subject_key)) & refs == refs - {None}
    # the audit chain: events on both sides of the rotation verify with the ring, not with the new key alone
    new.club_tokens.revoke(club=CLUB, by="U0DPO")  # an event under the new key
    assert _cli("audit", "verify", db=url, **rotated).returncode == 0
    assert _cli("audit", "verify", db=url, SECRET_KEY=new_key).returncode == 1
    # signatures: the statement signed before verifies against the published keys, as does a new one
    lines = _cli("keys", "public", db=url, **rotated).stdout.splitlines()
    published = [line.split()[-1] for line in lines if line.startswith(f"{SIGNING_PURPOSE} ")]
    assert len(published) == 2 and published == new.ring.public_keys(SIGNING_PURPOSE)
    assert [line.split()[-1] for line in lines if line.startswith(f"{CERTIFICATES} ")] == new.ring.public_keys(CERTIFICATES)
    assert not set(new.ring.public_keys(CERTIFICATES)) & set(published)  # one key per purpose
    assert verify_document(statement, published)
    assert verify_document(sign_document({"club": CLUB}, new.ring.signer(SIGNING_PURPOSE)), published[:1])
    assert not verify_document(statement, published[:1])
    # a backup made before the rotation restores (its key is derived from the fallback) and its chain verifies
    before = _counts(url)
    _wipe(url)
    restored = _cli("restore", str(backup), db=url, **rotated)
    assert restored.returncode == 0 and "intact" in restored.stdout, restored.stderr[-2000:]
    assert _counts(url)["subject_requests"] == before["subject_requests"]
    new.close()
