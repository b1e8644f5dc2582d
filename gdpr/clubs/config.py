"""config/clubs.yaml: per club (a controller), how it receives the answer to an access request opened for
one of its members in Slack, and the language it and its members read.

`delivery`: `slack` (the default): the file in the request's thread, its passphrase to the requester by DM.
`api`: instead, a single-use download link for the club's API, the passphrase by mail to the club's GDPR
contact. `both`: the two, for the same archive. A request the club opened through the API is always
answered through the API.

`language`: `en` (the default), `nl`, `fr` or `de`: the access summary, the refusal notice, the breach
notice to the club and the Art. 34 notice to its members are written in it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gdpr.core.templating import LANGUAGES, SOURCE
from gdpr.core.yamlconf import ANY, NAMES, Located, Schema

DELIVERIES = ("slack", "api", "both")
CLUBS: Schema = {"version": ANY, "clubs": {NAMES: {"delivery": ANY, "language": ANY}}}


@dataclass(frozen=True)
class ClubSettings:
    """What clubs.yaml sets, for the clubs it names (the others: slack, en)."""
    deliveries: dict[str, str] = field(default_factory=dict)  # club code -> slack | api | both
    languages: dict[str, str] = field(default_factory=dict)  # club code -> en | nl | fr | de


def load_clubs(path: Path) -> ClubSettings:
    doc = Located(path)
    doc.only(CLUBS)
    raw = doc.data if isinstance(doc.data, dict) else {}
    deliveries, languages = {}, {}
    for code, spec in (raw.get("clubs") or {}).items():
        delivery = (spec or {}).get("delivery", "slack")
        if delivery not in DELIVERIES:
            raise doc.error(("clubs", code, "delivery"), f"one of {', '.join(DELIVERIES)}")
        language = (spec or {}).get("language", SOURCE)
        if language not in LANGUAGES:
            raise doc.error(("clubs", code, "language"), f"one of {', '.join(LANGUAGES)}")
        deliveries[str(code)], languages[str(code)] = delivery, language
    return ClubSettings(deliveries=deliveries, languages=languages)
