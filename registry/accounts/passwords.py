"""Passwords: hashing with argon2id, and the rules a new password must meet.

Production hashes use RFC 9106's low-memory profile (argon2-cffi's default: 64 MiB, three
passes, four lanes), which costs most of a second of CPU per hash on a small server. That
cost is the point against a stolen table, and a burden nowhere but in the test suite, which
switches to argon2-cffi's cheapest profile with :func:`use_parameters` (see
tests/conftest.py). A hash records its own parameters, so either kind verifies anywhere,
and a log-in rehashes a password whose hash is cheaper than the configured cost.
"""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import lazy_gettext as _l

from registry.validators import FieldError, ValidationErrors

PRODUCTION_PARAMETERS = profiles.RFC_9106_LOW_MEMORY
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200

_hasher = PasswordHasher.from_parameters(PRODUCTION_PARAMETERS)
_dummy_hash: str | None = None


def use_parameters(parameters: Parameters) -> None:
    """Hash with ``parameters`` from now on in this process (the tests' cheap profile)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher.from_parameters(parameters)
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# The password column of an account whose administrator has not set a password yet: no
# argon2 hash ever equals it, so nobody can log in with it.
NOT_SET = "!not-set"


def password_is_set(password_hash: str) -> bool:
    return bool(password_hash) and password_hash != NOT_SET


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or malformed hash."""
    if not password_is_set(password_hash):
        verify_against_nothing(password)  # as slow as a real check: the answer tells nothing
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_against_nothing(password: str) -> None:
    """Spend the time of one verification, for a username that does not exist.

    The response time then does not tell a login form's user which usernames exist.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("registry-dummy-password")
    verify_password(_dummy_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# -- the rules for a new password: the same on every path (admin page, own page, CLI) ------


def check_new_password(password: str, username: str, field_name: str = "password") -> str:
    """A new password: long enough, not too long, not the username. Raises FieldError."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError(
            field_name, _l("At least %(minimum)s characters", minimum=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise FieldError(
            field_name, _l("At most %(maximum)s characters", maximum=MAX_PASSWORD_LENGTH)
        )
    if password.strip().lower() == (username or "").strip().lower():
        raise FieldError(field_name, _l("The password must not be the username"))
    return password


def check_repeated(password: str, repeated: str | None, errors: ValidationErrors) -> None:
    """The new password typed twice the same (when the form asks for it twice)."""
    if repeated is not None and repeated != password:
        errors.add("password_again", _l("The two passwords differ"))


def new_password_errors(
    password: str, username: str, repeated: str | None, errors: ValidationErrors
) -> None:
    """Add to ``errors`` what is wrong with a new password and its repetition."""
    with errors.collect():
        check_new_password(password, username)
    check_repeated(password, repeated, errors)
