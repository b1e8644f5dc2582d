"""The erasure's Slack store: every message of the subject's other requests is rendered again, a request's
recipients message included, so one a race left owed (two deliveries wanted it; the loser owes it to the
catch-up) does not fail an erasure filed right after; one Slack still does not take stays owed, and says so."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from gdpr.erasure.residue import Identifiers
from gdpr.erasure.stores import ErasedSubject, SlackMessages

pytestmark = pytest.mark.fast


def _store(owed: set[tuple[str, str]], *, slack_takes: bool, with_notices: bool = True) -> SlackMessages:
    def notices_changed(req: SimpleNamespace) -> None:
        if slack_takes:
            owed.discard((f"R-{req.id}", "notices"))
    return SlackMessages(requests_of=lambda ref: [SimpleNamespace(id=1), SimpleNamespace(id=2)],
                         grants_of=lambda ref: [], request_changed=lambda req: None, grant_changed=lambda grant: None,
                         owed=lambda: sorted(owed), notices_changed=notices_changed if with_notices else None)


def test_an_owed_recipients_message_of_another_request_is_rendered_again_and_the_store_is_clean() -> None:
    subject = ErasedSubject("member", "7", "ref", Identifiers(), request_id=2)
    owed = {("R-1", "notices")}
    proof = _store(owed, slack_takes=True).forget(subject)
    assert proof.clean and owed == set() and proof.detail == {"messages_rendered_again": 1, "owed": 0}
    owed = {("R-1", "notices")}
    assert not _store(owed, slack_takes=False).forget(subject).clean  # Slack refused it again: still owed, said
    assert not _store({("R-1", "notices")}, slack_takes=True, with_notices=False).forget(subject).clean
