"""First names of the platform's countries and English (Faker's lists): how `datamap check` recognises names
in unmapped columns, and how a subject's copy finds another person named in free text (Art. 15(4))."""
from __future__ import annotations

from functools import lru_cache

LOCALES = ("nl_BE", "fr_BE", "en_US", "de_DE")


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Lower-cased; loaded once per process, when first needed."""
    from faker import Faker
    names: set[str] = set()
    for loc in LOCALES:
        for provider in Faker(loc).providers:
            for attr in ("first_names", "first_names_female", "first_names_male"):
                value = getattr(provider, attr, None)
                if value:
                    names.update(n.lower() for n in (value.keys() if isinstance(value, dict) else value))
    return frozenset(names)
