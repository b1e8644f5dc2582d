"""Export packaging: AES-256 zip (WinZip AE-2, never ZipCrypto) with a random per-export passphrase."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

import pyzipper
from cryptography.fernet import Fernet

ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes


def new_passphrase(length: int = 24) -> str:
    """~140 bits from the OS CSPRNG; easy to type (no 0/O, 1/l/I)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def sealer(secret: bytes, purpose: str) -> Fernet:
    """Authenticated encryption at rest with a key derived from SECRET_KEY, one key per purpose."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(purpose.encode() + b":" + secret).digest()))


def write_aes_zip(dest: Path, files: list[tuple[str, Path]], passphrase: str) -> None:
    """Stream files from disk into an AES-256 encrypted zip at dest (mode 0600, written to a temp name, then renamed)."""
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
    with pyzipper.AESZipFile(path) as zf:
        zf.setpassword(passphrase.encode())
        return {name: zf.read(name) for name in zf.namelist()}
