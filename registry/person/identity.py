"""Protection of identity-document numbers at rest (PIPL: ID numbers are sensitive).

A number is stored twice, never in clear: AES-256-GCM ciphertext that an authorised
reveal can decrypt, and an HMAC-SHA256 blind index that finds a person by exact number
without decrypting anything. Both keys are derived with HKDF from one master data key, so
leaking the index key does not expose the ciphertexts and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
DEFAULT_KEY_VERSION = 1
_ENCRYPTION_INFO = b"registry/person/identity/aes-256-gcm/v1"
_INDEX_INFO = b"registry/person/identity/blind-index/hmac-sha256/v1"
_RESIDENT_ID_LENGTH = 18


class DecryptionError(ValueError):
    """A stored ciphertext that this cipher cannot open (wrong key, version or damage)."""


def generate_data_key() -> str:
    """A fresh master data key in its config form: urlsafe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _master_key_bytes(key: bytes | str) -> bytes:
    """Raw 32-byte master key from raw bytes or the urlsafe base64 config string."""
    if isinstance(key, str):
        text = key.strip()
        try:
            padded = (text + "=" * (-len(text) % 4)).encode("ascii")
            key = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise ValueError("data key is not urlsafe base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"data key must be {KEY_BYTES} bytes")
    return bytes(key)


def _derive(master: bytes, info: bytes) -> bytes:
    """One independent 32-byte subkey per purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


class IdentityCipher:
    """Encrypts, decrypts and blind-indexes document numbers with keys built once."""

    __slots__ = ("_aead", "_index_template", "_version", "_prefix")

    def __init__(self, key: bytes | str, *, key_version: int = DEFAULT_KEY_VERSION) -> None:
        if not 0 < key_version < 256:
            raise ValueError("key_version must fit in one byte (1-255)")
        master = _master_key_bytes(key)
        self._aead = AESGCM(_derive(master, _ENCRYPTION_INFO))
        self._index_template = hmac.new(_derive(master, _INDEX_INFO), digestmod=hashlib.sha256)
        self._version = key_version
        self._prefix = bytes([key_version])

    @property
    def key_version(self) -> int:
        """The version byte written in front of every ciphertext, for later key rotation."""
        return self._version

    def encrypt(self, plaintext: str) -> bytes:
        """Version byte + random 12-byte nonce + ciphertext and tag; differs on every call."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), self._prefix)
        return self._prefix + nonce + sealed

    def decrypt(self, blob: bytes) -> str:
        """The plaintext of ``blob``; raises DecryptionError rather than returning garbage."""
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("ciphertext is too short")
        if blob[0] != self._version:
            raise DecryptionError(f"ciphertext uses key version {blob[0]}, not {self._version}")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, bytes(sealed), self._prefix).decode("utf-8")
        except InvalidTag:
            raise DecryptionError("wrong key or damaged ciphertext") from None

    def blind_index(self, document_type: str, normalised_number: str) -> bytes:
        """32-byte HMAC of "type:number" for exact look-up; pass the validator's output."""
        mac = self._index_template.copy()
        mac.update(f"{document_type}:{normalised_number}".encode())
        return mac.digest()

    def __repr__(self) -> str:
        return f"IdentityCipher(key_version={self._version})"


def mask_document_number(number: str) -> str:
    """Number as shown without reveal rights: "420106********123X"; never about half or more."""
    length = len(number)
    if length == _RESIDENT_ID_LENGTH:
        head, tail = 6, 4
    else:
        head = tail = min(2, length // 4)
    return number[:head] + "*" * (length - head - tail) + number[length - tail :]
