"""config/clubs.yaml: how each club (a controller) receives the answer to an access request opened for
one of its members in Slack. `slack` (the default): the file in the request's thread, its passphrase to
the requester by DM. `api`: instead, a single-use download link for the club's API, the passphrase by
mail to the club's GDPR contact. `both`: the two, for the same archive. A request the club opened
through the API is always answered through the API."""
from __future__ import annotations

from pathlib import Path

from gdpr.core.yamlconf import ANY, NAMES, Located, Schema

DELIVERIES = ("slack", "api", "both")
CLUBS: Schema = {"version": ANY, "clubs": {NAMES: {"delivery": ANY}}}


def load_clubs(path: Path) -> dict[str, str]:
    """{club code: delivery} for the clubs that differ from the default (`slack`)."""
    doc = Located(path)
    doc.only(CLUBS)
    raw = doc.data if isinstance(doc.data, dict) else {}
    out = {}
    for code, spec in (raw.get("clubs") or {}).items():
        delivery = (spec or {}).get("delivery", "slack")
        if delivery not in DELIVERIES:
            raise doc.error(("clubs", code, "delivery"), f"one of {', '.join(DELIVERIES)}")
        out[str(code)] = delivery
    return out
