"""ID numbers at rest: encryption, blind index and masking (pure, no database)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from registry.person.identity import (
    DecryptionError,
    IdentityCipher,
    generate_data_key,
    mask_document_number,
)
from registry.validators import DocumentType

NUMBER = "11010519491231002X"
KEY = generate_data_key()


@pytest.fixture
def cipher() -> IdentityCipher:
    return IdentityCipher(KEY)


# -- keys ---------------------------------------------------------------------------------


def test_generated_key_is_32_random_bytes_in_urlsafe_base64() -> None:
    first, second = generate_data_key(), generate_data_key()
    assert len(base64.urlsafe_b64decode(first)) == 32
    assert first != second


def test_string_key_and_raw_bytes_key_are_the_same_key() -> None:
    raw = base64.urlsafe_b64decode(KEY)
    blob = IdentityCipher(KEY).encrypt(NUMBER)
    assert IdentityCipher(raw).decrypt(blob) == NUMBER
    assert IdentityCipher(KEY.rstrip("=")).decrypt(blob) == NUMBER


@pytest.mark.parametrize(
    "bad_key", [b"short", b"x" * 33, "not base64 at all!", base64.urlsafe_b64encode(b"x" * 16)]
)
def test_bad_keys_are_refused(bad_key: bytes | str) -> None:
    with pytest.raises(ValueError):
        IdentityCipher(bad_key)


def test_repr_does_not_leak_the_key(cipher: IdentityCipher) -> None:
    assert KEY not in repr(cipher)
    assert KEY.rstrip("=") not in repr(cipher)


# -- encryption ---------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [NUMBER, "E12345678", "", "张三 ключ"])
def test_round_trip(cipher: IdentityCipher, plaintext: str) -> None:
    assert cipher.decrypt(cipher.encrypt(plaintext)) == plaintext


def test_ciphertext_differs_every_call_and_hides_the_number(cipher: IdentityCipher) -> None:
    first, second = cipher.encrypt(NUMBER), cipher.encrypt(NUMBER)
    assert first != second
    assert first[1:13] != second[1:13]  # fresh nonce
    assert NUMBER.encode() not in first


def test_ciphertext_layout(cipher: IdentityCipher) -> None:
    blob = cipher.encrypt(NUMBER)
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + len(NUMBER) + 16


def test_wrong_key_fails_to_decrypt(cipher: IdentityCipher) -> None:
    blob = cipher.encrypt(NUMBER)
    with pytest.raises(DecryptionError):
        IdentityCipher(generate_data_key()).decrypt(blob)


def test_tampered_ciphertext_fails(cipher: IdentityCipher) -> None:
    blob = bytearray(cipher.encrypt(NUMBER))
    blob[-1] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(blob))


def test_truncated_ciphertext_fails(cipher: IdentityCipher) -> None:
    with pytest.raises(DecryptionError):
        cipher.decrypt(cipher.encrypt(NUMBER)[:20])


def test_key_version_is_written_and_checked() -> None:
    old, new = IdentityCipher(KEY), IdentityCipher(KEY, key_version=2)
    blob = new.encrypt(NUMBER)
    assert blob[0] == 2
    assert new.key_version == 2
    assert new.decrypt(blob) == NUMBER
    with pytest.raises(DecryptionError, match="key version 2"):
        old.decrypt(blob)
    forged = bytes([1]) + blob[1:]  # the version byte is authenticated, not just a label
    with pytest.raises(DecryptionError):
        old.decrypt(forged)


@pytest.mark.parametrize("version", [0, 256, -1])
def test_key_version_must_fit_one_byte(version: int) -> None:
    with pytest.raises(ValueError):
        IdentityCipher(KEY, key_version=version)


# -- blind index --------------------------------------------------------------------------


def test_blind_index_is_deterministic_and_32_bytes(cipher: IdentityCipher) -> None:
    index = cipher.blind_index("resident_id", NUMBER)
    assert len(index) == 32
    assert index == cipher.blind_index("resident_id", NUMBER)
    assert index == IdentityCipher(KEY).blind_index("resident_id", NUMBER)


def test_blind_index_accepts_the_enum(cipher: IdentityCipher) -> None:
    by_enum = cipher.blind_index(DocumentType.RESIDENT_ID, NUMBER)
    assert by_enum == cipher.blind_index("resident_id", NUMBER)


def test_blind_index_differs_by_type_number_and_key(cipher: IdentityCipher) -> None:
    index = cipher.blind_index("resident_id", NUMBER)
    assert index != cipher.blind_index("passport", NUMBER)
    assert index != cipher.blind_index("resident_id", "11010519491231003X")
    assert index != IdentityCipher(generate_data_key()).blind_index("resident_id", NUMBER)


def test_blind_index_uses_a_derived_key_not_the_master_key(cipher: IdentityCipher) -> None:
    master = base64.urlsafe_b64decode(KEY)
    message = f"resident_id:{NUMBER}".encode()
    assert cipher.blind_index("resident_id", NUMBER) != hmac.digest(master, message, "sha256")
    assert cipher.blind_index("resident_id", NUMBER) != hashlib.sha256(message).digest()


# -- masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("42010619600101123X", "420106********123X"),
        ("11010519491231002X", "110105********002X"),
        ("E12345678", "E1*****78"),
        ("USA110085070101", "US***********01"),
        ("AB123456", "AB****56"),
        ("AB12345", "A*****5"),
        ("AB12", "A**2"),
        ("ABC", "***"),
        ("", ""),
    ],
)
def test_mask_examples(number: str, masked: str) -> None:
    assert mask_document_number(number) == masked


@pytest.mark.parametrize("length", [n for n in range(0, 40) if n != 18])
def test_mask_never_reveals_more_than_half(length: int) -> None:
    number = "".join(str(i % 10) for i in range(length))
    masked = mask_document_number(number)
    assert len(masked) == length
    assert sum(char != "*" for char in masked) <= length // 2
