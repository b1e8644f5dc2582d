"""Export packaging: AES-256 zip (WinZip AE-2, never ZipCrypto) with a random per-export passphrase."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes


def new_passphrase(length: int = 24) -> str:
    """~140 bits from the OS CSPRNG; easy to type (no 0/O, 1/l/I)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def sealer(secret: bytes, purpose: str) -> Fernet:
    """Authenticated encryption at rest with a key derived from SECRET_KEY, one key per purpose."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(purpose.encode() + b":" + secret).digest()))


def write_aes_zip(dest: Path, files: list[tuple[str, Path]], passphrase: str) -> None:
    """Stream files from disk into an AES-256 encrypted zip at dest (mode 0600, written to a temp name, then renamed)."""
    import pyzipper  # here, not at the top: it brings Cryptodome and cffi's C parser (50 ms of every process start)
    tmp = dest.with_suffix(".partial")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # owner only, before a byte is written
    os.chmod(tmp, 0o600)  # a file left by an earlier attempt keeps its old mode otherwise
    with pyzipper.AESZipFile(tmp, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(passphrase.encode())
        zf.setencryption(pyzipper.WZ_AES, nbits=256)
        for arcname, path in files:
            zf.write(path, arcname)
    tmp.replace(dest)


def read_aes_zip(path: Path, passphrase: str) -> dict[str, bytes]:
    """Open an export (tests, demo): every member's bytes by name."""
    import pyzipper
    with pyzipper.AESZipFile(path) as zf:
        zf.setpassword(passphrase.encode())
        return {name: zf.read(name) for name in zf.namelist()}


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def canonical(doc: dict) -> bytes:
    """A signed document as it is handed out: canonical JSON (sorted keys, no spaces, UTF-8), so the same
    document is the same bytes wherever it is fetched and a changed byte is a changed document."""
    return _canonical(doc)


def signing_key(secret: bytes, purpose: str) -> Ed25519PrivateKey:
    """An Ed25519 key derived from SECRET_KEY (HKDF, one key per purpose): anyone holding the public key
    checks a signed document; only the bot can sign one."""
    seed = HKDF(algorithm=SHA256(), length=32, salt=None, info=f"gdpr-ops-bot:{purpose}".encode()).derive(secret)
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


SCHEME = {"algorithm": "Ed25519", "canonical": "JSON, sorted keys, no spaces"}  # what every signature says of itself


def sign_document(body: dict, key: Ed25519PrivateKey) -> dict:
    """`body` with a detached Ed25519 signature over its canonical JSON (sorted keys, no spaces)."""
    return {"statement": body, "signature": {**SCHEME, "public_key": public_key_b64(key),
                                             "value": base64.b64encode(key.sign(_canonical(body))).decode()}}


def verify_document(doc: dict, trusted: Sequence[str]) -> bool:
    """Whether `doc` (from `sign_document`) is intact and signed by one of the `trusted` public keys (the
    platform's published ones: `GET /v1/keys`, `gdpr-bot keys public`). The key the document names is
    never trusted by itself: anyone can sign with a key of their own and name it."""
    sig = doc.get("signature") or {}
    for key in trusted:
        try:
            Ed25519PublicKey.from_public_bytes(base64.b64decode(key)).verify(
                base64.b64decode(sig.get("value", "")), _canonical(doc["statement"]))
        except (InvalidSignature, ValueError, KeyError, TypeError):
            continue
        return True
    return False
