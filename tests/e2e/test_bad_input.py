"""Bad input gets a clear answer and loses nothing."""
from __future__ import annotations

import json
import shutil
import time

from sqlalchemy import func, select, text

from devslack.driver import command_body, sign, wait_for
from gdpr.core import models as m
from tests.conftest import ROOT, SIGNING_SECRET, make_system
from tests.helpers import COLLEAGUE, DPO, STRANGER, SUPPORT, block_texts, ephemerals, unique_member, wait_ephemeral


def _requests(system) -> int:
    with system.services.db.session() as s:
        return s.execute(select(func.count()).select_from(m.SubjectRequest)).scalar()


def _audit(system, action: str) -> list[m.AuditEvent]:
    with system.services.db.session() as s:
        return list(s.execute(select(m.AuditEvent).where(m.AuditEvent.action == action)).scalars())


def _open(system, gym, user: str = SUPPORT) -> tuple[int, dict]:
    member = unique_member(gym)
    system.slack.command(user, f"access {member['member_number']}")
    card = system.card()
    return int(card["blocks"][-1]["elements"][0]["value"]), card


def test_unknown_subject_is_answered_and_nothing_is_enqueued(system) -> None:
    system.slack.command(SUPPORT, "access nobody@nowhere.example")
    answer = wait_ephemeral(system.standin, SUPPORT)
    assert "No club member matches that email" in answer["text"]
    assert _requests(system) == 0 and system.standin.calls_to("chat.postMessage") == []


def test_ambiguous_family_email_lists_masked_candidates(system, gym) -> None:
    with gym.connect() as conn:
        email = conn.execute(text("SELECT email FROM members WHERE email IS NOT NULL GROUP BY email "
                                  "HAVING COUNT(*) > 1 ORDER BY email LIMIT 1")).scalar_one()
        numbers = [r[0] for r in conn.execute(text("SELECT member_number FROM members WHERE email = :e"), {"e": email})]
    system.slack.command(SUPPORT, f"access {email}")
    answer = wait_ephemeral(system.standin, SUPPORT)
    shown = block_texts(answer)
    assert "member number" in shown and all(n in shown for n in numbers)
    assert email not in json.dumps(answer) and _requests(system) == 0


def test_malformed_and_oversized_commands_get_usage(system) -> None:
    for body, expected in (("access", "Usage: `/gdpr access"), ("frobnicate x", "Unknown command"),
                           ("find " + "a" * 600, "too long"), ("access a b c", "Usage")):
        reply = system.slack.command(SUPPORT, body)
        assert reply.status == 200 and expected in reply.json["text"], (body, reply.body)
    assert "find" in system.slack.command(SUPPORT, "help").json["text"]
    system.slack.command(SUPPORT, "access not-an-identity")
    assert "not an email address" in wait_ephemeral(system.standin, SUPPORT)["text"]
    assert _requests(system) == 0


def test_slack_markup_in_stored_names_is_never_rendered(system, gym) -> None:
    member = unique_member(gym)
    with gym.begin() as conn:
        conn.execute(text("UPDATE members SET first_name = '<!channel>', last_name = '*bold* <@U123>' WHERE id = :i"),
                     {"i": member["id"]})
    system.slack.command(DPO, f"find {member['member_number']}")  # the DPO sees unmasked data
    answer = wait_ephemeral(system.standin, DPO)
    for block in answer["blocks"]:
        for f in block.get("fields", []):
            assert f["type"] == "plain_text"  # plain_text is never parsed: no ping, no bold
        if block.get("text", {}).get("type") == "mrkdwn":
            assert "<!channel>" not in block["text"]["text"] and "<@U123>" not in block["text"]["text"]
    assert "<!channel>" in block_texts(answer)  # shown literally to the DPO
    assert "<!channel>" not in (answer["text"] or "")


def test_unauthorised_user_is_refused_and_audited(system, gym) -> None:
    member = unique_member(gym)
    system.slack.command(STRANGER, f"access {member['email']}")
    assert "not allowed" in wait_ephemeral(system.standin, STRANGER)["text"]
    system.slack.command(STRANGER, f"find {member['email']}")
    wait_ephemeral(system.standin, STRANGER, 2)
    denied = _audit(system, "access.denied")
    assert {json.loads(e.details)["permission"] for e in denied} == {"request.create", "subject.find"}
    assert all(e.actor == STRANGER for e in denied) and _requests(system) == 0


def test_forged_and_replayed_requests_are_dropped(system, gym) -> None:
    member = unique_member(gym)
    body = command_body(SUPPORT, f"access {member['email']}")
    forged = sign("not-the-secret", body)
    assert system.slack.send(body, forged).status == 401
    stale = sign(SIGNING_SECRET, body, timestamp=str(int(time.time()) - 600))
    assert system.slack.send(body, stale).status == 401
    headers = sign(SIGNING_SECRET, body)
    first = system.slack.send(body, headers)
    assert first.status == 200 and "Working on" in first.json["text"]
    replay = system.slack.send(body, headers)
    assert replay.status == 200 and replay.body == ""  # acknowledged so Slack stops, but never processed
    system.card()
    assert _requests(system) == 1 and ephemerals(system.standin, SUPPORT) == []


UNVERIFIED = [("abc", "v0=00"), ("", "v0=00"), ("12.5", "v0=00"), ("9" * 40, "v0=00"), ("1700000000", ""),
              (None, None)]


def test_a_request_that_fails_verification_gets_401_and_nothing_else(system) -> None:
    """Whatever the headers (a non-numeric or absurd timestamp, no signature), an unverified request is a
    401 and nothing happens: no ephemeral to the user or channel it names, no request (each case in turn,
    on one running system: nothing any of them did may be seen after it)."""
    body = command_body(SUPPORT, "access M0000001", channel="C0SUPPORT")
    for timestamp, signature in UNVERIFIED:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if timestamp is not None:
            headers["x-slack-request-timestamp"] = timestamp
        if signature is not None:
            headers["x-slack-signature"] = signature
        reply = system.slack.send(body, headers)
        assert reply.status == 401, (timestamp, signature)
        assert system.standin.calls_to("chat.postEphemeral") == [] and _requests(system) == 0, (timestamp, signature)


def test_support_colleague_cannot_approve_and_requester_cannot_self_approve(system, gym) -> None:
    request_id, card = _open(system, gym, user=DPO)  # the DPO files it: someone else must decide
    system.slack.click(COLLEAGUE, "request.approve", str(request_id), card["channel"], card["ts"])
    assert "Only the DPO" in wait_ephemeral(system.standin, COLLEAGUE)["text"]
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    assert "four-eyes" in wait_ephemeral(system.standin, DPO)["text"]
    assert system.services.requests.get(request_id).status == m.AWAITING_APPROVAL
    assert {json.loads(e.details)["permission"] for e in _audit(system, "access.denied")} == {"request.decide", "four-eyes"}


def test_double_click_on_approve_runs_one_job(system, gym) -> None:
    request_id, card = _open(system, gym)
    for _ in range(3):
        system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id)
    assert done.status == m.DONE and done.attempts == 1
    assert len(system.standin.calls_to("files.completeUploadExternal")) == 1
    assert len(_audit(system, "request.approved")) == 1
    assert "already decided" in wait_ephemeral(system.standin, DPO)["text"]


def test_reject_needs_a_reason_and_blocks_a_later_approve(system, gym) -> None:
    request_id, card = _open(system, gym)
    system.slack.click(DPO, "request.reject", str(request_id), card["channel"], card["ts"])
    modal = wait_for(lambda: system.standin.calls_to("views.open"), timeout=20)[0]
    assert modal.args["view"]["private_metadata"] == str(request_id) if isinstance(modal.args["view"], dict) \
        else json.loads(modal.args["view"])["private_metadata"] == str(request_id)
    empty = system.slack.submit_view(DPO, "request.reject_reason", str(request_id), {"reason": " "})
    assert empty.json["response_action"] == "errors" and "reason" in empty.json["errors"]
    ok = system.slack.submit_view(DPO, "request.reject_reason", str(request_id), {"reason": "Not the club's member"})
    assert ok.status == 200
    rejected = system.wait_status(request_id, (m.REJECTED,), timeout=20)
    assert rejected.reject_reason == "Not the club's member"
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    assert "already decided" in wait_ephemeral(system.standin, DPO)["text"]
    assert system.services.requests.get(request_id).status == m.REJECTED
    assert system.standin.calls_to("files.completeUploadExternal") == []
    # the card is updated after the rejection commits, on the follow-up pool: wait for it, do not race it
    card_now = wait_for(lambda: [c for c in system.standin.calls_to("chat.update") if c.args["ts"] == card["ts"]
                                 and "Not the club" in json.dumps(c.args)], timeout=20, what="the card update")[-1]
    assert "request.approve" not in json.dumps(card_now.args)


def test_a_second_open_request_for_the_same_member_is_a_duplicate(system, gym) -> None:
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"access {member['email']}")
    system.card()
    system.slack.command(COLLEAGUE, f"access {member['member_number']}")
    assert "already exists" in wait_ephemeral(system.standin, COLLEAGUE)["text"]
    assert _requests(system) == 1
    with gym.connect() as conn:
        other = conn.execute(text("SELECT member_number FROM members WHERE id <> :i ORDER BY id LIMIT 1"),
                             {"i": member["id"]}).scalar()
    system.slack.command(SUPPORT, f"access {other}")
    wait_for(lambda: _requests(system) == 2, timeout=20, what="the next request")
    with system.services.db.session() as s:  # the refused attempt used up no number (issue 23, defect 8)
        ids = sorted(s.execute(select(m.SubjectRequest.id)).scalars())
    assert ids[1] == ids[0] + 1, ids


def test_find_is_masked_for_support_and_every_lookup_is_audited(system, gym) -> None:
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"find {member['phone']}")
    answer = wait_ephemeral(system.standin, SUPPORT)
    assert member["member_number"] in block_texts(answer)
    assert member["email"] not in json.dumps(answer) and member["last_name"] not in json.dumps(answer)
    viewed = _audit(system, "subject.viewed")
    assert len(viewed) >= 1 and json.loads(viewed[0].details)["unmasked"] is False
    assert member["email"] not in json.dumps([e.details for e in viewed])


def test_an_unmasked_view_lands_in_the_members_change_history(system, gym) -> None:
    member = unique_member(gym)
    system.slack.command(DPO, f"find {member['member_number']}")
    answer = wait_ephemeral(system.standin, DPO)
    assert member["email"] in block_texts(answer)  # the DPO holds pii.view
    with gym.connect() as conn:
        views = conn.execute(text("SELECT actor FROM member_change_log WHERE member_id = :i AND action = 'VIEW' "
                                  "AND actor LIKE 'slack:%'"), {"i": member["id"]}).scalars().all()
    assert views == [f"slack:{DPO}"]
    viewed = _audit(system, "subject.viewed")
    assert [json.loads(e.details)["unmasked"] for e in viewed] == [True]


def test_an_approval_card_that_cannot_be_posted_closes_the_request(sqlite_url, standin, tmp_path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    roles = config / "roles.yaml"
    roles.write_text(roles.read_text().replace("approvals: C0DPOAPPROV", "approvals: C0NOTINCHAN"))
    bot = make_system("embedded", sqlite_url, standin, tmp_path, None, http=False, config_dir=config)
    try:
        member = unique_member(bot.services.system.engine)
        bot.slack.command(SUPPORT, f"access {member['member_number']}")
        assert "Something went wrong" in wait_ephemeral(standin, SUPPORT)["text"]
        with bot.services.db.session() as s:
            req = s.execute(select(m.SubjectRequest)).scalar_one()
        assert req.status == m.FAILED and req.open_key is None  # closed: it can be filed again
        assert [e.action for e in _audit(bot, "request.abandoned")] == ["request.abandoned"]
        assert not [c for c in standin.calls_to("chat.postMessage") if c.args["channel"] == f"D{SUPPORT}"]
    finally:
        bot.stop()


def test_every_click_on_a_decided_request_is_acknowledged_and_the_words_are_true(system, gym) -> None:
    request_id, card = _open(system, gym)
    system.slack.click(DPO, "request.reject", str(request_id), card["channel"], card["ts"])
    system.slack.submit_view(DPO, "request.reject_reason", str(request_id), {"reason": "*Not* a <!channel> member"})
    system.wait_status(request_id, (m.REJECTED,), timeout=20)
    # Reject and Approve again, many times: Bolt's error path raced the ack and answered 404 after 3 s.
    for action in ("request.reject", "request.approve") * 6:
        started = time.monotonic()
        reply = system.slack.click(DPO, action, str(request_id), card["channel"], card["ts"])
        assert reply.status == 200 and time.monotonic() - started < 2.5, (action, reply)
    told = wait_for(lambda: [e["text"] for e in ephemerals(system.standin, DPO) if "already decided" in e["text"]],
                    timeout=20, what="the refusals")
    assert all("(rejected)" in t for t in told)  # the state it is in now, not the one it was read in
    card_now = [c for c in system.standin.calls_to("chat.update") if c.args["ts"] == card["ts"]][-1]
    blocks = card_now.args["blocks"] if isinstance(card_now.args["blocks"], list) else json.loads(card_now.args["blocks"])
    reason = [e for b in blocks if b["type"] == "context" for e in b["elements"] if "Reason:" in e["text"]]
    assert reason == [{"type": "plain_text", "text": "Reason: *Not* a <!channel> member", "emoji": False}]


def test_a_running_erasure_says_erasure_running() -> None:
    from bot.render import status_label
    req = m.SubjectRequest(kind="erase", status=m.RUNNING)
    assert "erasure running" in status_label(req)
    assert "export running" in status_label(m.SubjectRequest(kind="access", status=m.RUNNING))
    said = [status_label(m.SubjectRequest(kind="withdraw", status=s)) for s in (m.RUNNING, m.NOTIFYING, m.DONE)]
    assert not any(w in " ".join(said) for w in ("export", "erase", "package"))  # a withdrawal's own words
    assert "withdrawn; telling recipients" in said[1]


def test_every_button_clicked_by_a_user_with_no_role_is_answered(system) -> None:
    """Issue 23, defect 3: a refusal is an answer too - each action id, clicked by someone with no role (on
    no item, or one they may not touch), gets one ephemeral reply and nothing changes."""
    from tests.test_code_shape import _registered
    action_ids = [key for kind, key, _, _ in _registered() if kind == "action"]
    assert len(action_ids) == 14
    for count, action_id in enumerate(action_ids, start=1):
        reply = system.slack.click(STRANGER, action_id, "1", "C0SUPPORT", "1700000000.000100")
        assert reply.status == 200, action_id
        answer = wait_ephemeral(system.standin, STRANGER, count)
        assert answer["text"] and "went wrong" not in answer["text"], (action_id, answer["text"])
    assert len(ephemerals(system.standin, STRANGER)) == len(action_ids) and _requests(system) == 0
