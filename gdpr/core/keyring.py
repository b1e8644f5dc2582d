"""SECRET_KEY as a key ring: the newest key derives, seals and signs; the older ones (SECRET_KEY_FALLBACKS)
still verify and open what was made with them, until `gdpr-bot keys rotate` has re-keyed what can be.

Every key the bot uses is derived from a ring key, one per purpose: the audit chain's HMAC, subject
pseudonyms, club-token and download-link hashes, the sealers (Fernet) and the signing key (Ed25519).
A key is checked before it is used: short, low-entropy or placeholder keys are refused by name."""
from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Sequence

from cryptography.fernet import MultiFernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gdpr.core.crypto import public_key_b64, sealer, signing_key

MIN_LENGTH = 32
MIN_BITS = 128  # the key's characters' empirical entropy times its length
# what an operator copies from an example and forgets (env.example's own placeholder among them)
PLACEHOLDERS = ("change", "example", "placeholder", "replace", "secret", "password", "your-", "xxxx", "todo",
                "default", "sample", "test")


def weakness(value: str) -> str | None:
    """Why `value` is too weak for a SECRET_KEY, or None. 64 random hex characters (`openssl rand -hex 32`)
    or `python -c 'import secrets; print(secrets.token_urlsafe(48))'` pass."""
    if len(value) < MIN_LENGTH:
        return f"it is {len(value)} characters; at least {MIN_LENGTH} random ones are needed"
    lowered = value.lower()
    word = next((w for w in PLACEHOLDERS if w in lowered), None)
    if word:
        return f"it looks like a placeholder (it contains {word!r})"
    counts = Counter(value)
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values()) * len(value)
    if bits < MIN_BITS or len(counts) < 12:
        return f"it is not random enough ({len(counts)} distinct characters, about {int(bits)} bits)"
    return None


class KeyRing:
    """Ring keys, newest first (never empty)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.keys: tuple[bytes, ...] = tuple(keys)

    @property
    def current(self) -> bytes:
        return self.keys[0]

    @property
    def rotated(self) -> bool:
        return len(self.keys) > 1

    def ident(self, key: bytes) -> str:
        """A short, non-secret name for a ring key (which key made a backup, signed a statement)."""
        return hashlib.sha256(b"gdpr-ops-bot:key-id:" + key).hexdigest()[:12]

    def macs(self, label: bytes) -> list[bytes]:
        """The HMAC key for `label` under each ring key, newest first."""
        return [hmac.new(key, label, hashlib.sha256).digest() for key in self.keys]

    def sealer(self, purpose: str) -> MultiFernet:
        """Seals with the newest key; opens what any ring key sealed (`rotate` re-seals with the newest)."""
        return MultiFernet([sealer(key, purpose) for key in self.keys])

    def signer(self, purpose: str) -> Ed25519PrivateKey:
        return signing_key(self.current, purpose)

    def public_keys(self, purpose: str) -> list[str]:
        """Every ring key's public key for `purpose`, newest first: documents signed before a rotation verify."""
        return [public_key_b64(signing_key(key, purpose)) for key in self.keys]

    def pseudonyms(self, subject_type: str, subject_key: str) -> list[str]:
        """The subject's pseudonym under each ring key, newest first (what the audit chain may hold)."""
        from gdpr.core.audit import subject_pseudonym
        return [subject_pseudonym(key, subject_type, subject_key) for key in self.keys]
