"""Every placeholder of the four member- and club-facing templates, filled (the language test renders each
in every language with these)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from gdpr.breaches.config import KINDS, SUBJECT_CATEGORIES

PROCESSOR = {"name": "PulseFit Platform NV", "role": "the club's software provider, processor under Art. 28 GDPR"}
AUTHORITY = {"name": "Gegevensbeschermingsautoriteit", "address": "Drukpersstraat 35, 1000 Brussel",
             "url": "https://www.dataprotectionauthority.be"}
CLUB = {"name": "Ghent Centre", "contact": "privacy@ghent.example", "country": "BE", "code": "ghent-centre"}


def _breach(**over: object) -> SimpleNamespace:
    fields = dict(
        aware_at=dt.datetime(2026, 3, 4, 9, 15, tzinfo=dt.UTC), detected_at=dt.datetime(2026, 3, 3, 22, 40, tzinfo=dt.UTC),
        description="A backup disk was stolen from the Ghent office.", approx_people=1200, approx_records=5400,
        data_categories=["contact details", "payment references"], contact="dpo@pulsefit.example",
        consequences="Phishing mails naming the club.", measures="The disk's key was revoked.", risk="high",
        kinds=list(KINDS), subject_categories=list(SUBJECT_CATEGORIES))
    fields.update(over)
    return SimpleNamespace(**fields)


def access_summary() -> dict:
    return {"request_id": 42, "generated_on": dt.date(2026, 3, 5), "subject_label": "club member",
            "controller": CLUB, "source": "from you, when you joined", "processor": PROCESSOR, "authority": AUTHORITY,
            "categories": {"contact_details": {"purposes": ["membership"], "bases": ["contract (Art. 6(1)(b))"],
                                               "retention": ["2 years after the membership ends"]}},
            "recipients": [{"name": "Payment provider", "purpose": "collecting fees"}],
            "counts": {"members": 1, "check_ins": 12, "payments": 0},
            "disclosures": {"transfers": "No transfers outside the EEA.", "automated_decisions": "None.",
                            "profiling": "No profiling."},
            "withheld": {"emergency_contacts": {"columns": ["contact_name", "contact_phone"], "rows": 1}},
            "redacted": {"staff_notes": {"columns": ["body"], "passages": 3, "rows": 2}}}


def breach_club_notice(phase: int = 2, late: bool = True) -> dict:
    breach = _breach()
    return {"breach": breach, "notice": SimpleNamespace(phase=phase, late_reason="The disk was found missing late." if late else None),
            "club": SimpleNamespace(name="Ghent Centre", contact_name="An Peeters", code="ghent-centre"),
            "ref": "B-7", "processor": PROCESSOR, "kinds": breach.kinds, "subject_categories": breach.subject_categories}


def breach_member_notice() -> dict:
    return {"breach": _breach(), "club": SimpleNamespace(name="Ghent Centre", code="ghent-centre"), "name": "Jan Janssens",
            "ref": "B-7"}


def refusal_notice(kind: str = "access") -> dict:
    return {"ref": "R-9", "kind": kind, "club": CLUB, "processor": PROCESSOR, "authority": AUTHORITY,
            "ground": "The same request was answered in full two weeks ago.", "received": dt.date(2026, 2, 1),
            "decided": dt.datetime(2026, 2, 10, 14, 0, tzinfo=dt.UTC), "due": dt.date(2026, 3, 1)}


def restriction_lifted() -> dict:
    return {"ref": "R-12", "restricted_by": "R-9", "club": CLUB, "processor": PROCESSOR,
            "lifted": dt.datetime(2026, 4, 2, 10, 0, tzinfo=dt.UTC),
            "reason": "The member's address was checked and is correct."}


CONTEXTS = {"access_summary.html.j2": access_summary, "breach_club_notice.txt.j2": breach_club_notice,
            "breach_member_notice.txt.j2": breach_member_notice, "refusal_notice.txt.j2": refusal_notice,
            "restriction_lifted.txt.j2": restriction_lifted}
