"""The audit log's chain: how an entry's hash is computed, and how the chain is verified.

Each entry's hash covers its content, its chain version and the previous entry's hash, so
changing or removing any entry but the newest breaks the chain at that point.

Two versions of the chain exist:

- version 1 (``LEGACY_SHA256``): plain SHA-256. Anyone who can write the table can edit an
  entry and recompute every hash after it, so it shows accidents, not tampering. Entries
  written before the keyed chain keep this version and still verify.
- version 2 (``KEYED_HMAC``): HMAC-SHA256 with the audit key, which lives in the instance
  folder (or ``REGISTRY_AUDIT_KEY``), never in the database. Without the key nobody can
  compute a hash that verifies, so an edited entry stays detectable.

Once the keyed chain has begun, a version-1 entry after it is itself a break: otherwise an
edited entry could be passed off as a legacy one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.audit.models import AuditEntry

LEGACY_SHA256 = 1
KEYED_HMAC = 2
CURRENT_VERSION = KEYED_HMAC
KEY_BYTES = 32
# The entry fields the hash covers (besides the previous hash and the version).
HASHED_FIELDS = (
    "occurred_at",
    "user_id",
    "username",
    "action",
    "object_type",
    "object_id",
    "changes",
    "reason",
)


def audit_key_bytes(key: str) -> bytes:
    """The raw key from its config form; refuses anything that is not 32 bytes of base64."""
    text = key.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the audit key is not urlsafe base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"the audit key must be {KEY_BYTES} bytes")
    return raw


def canonical(value: Any) -> Any:
    """The JSON form of a value as the hash sees it (datetimes in UTC, tuples as lists)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _encoded(fields: dict[str, Any], previous: bytes | None, version: int) -> bytes:
    content = {name: canonical(fields[name]) for name in HASHED_FIELDS}
    content["changes"] = content["changes"] or {}
    content["previous"] = (previous or b"").hex()
    if version != LEGACY_SHA256:  # version 1 hashes never covered their version
        content["version"] = version
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def entry_digest(
    fields: dict[str, Any], previous: bytes | None, version: int, key: bytes | None
) -> bytes:
    """The hash of one entry's ``fields`` chained onto ``previous``, in chain ``version``."""
    encoded = _encoded(fields, previous, version)
    if version == LEGACY_SHA256:
        return hashlib.sha256(encoded).digest()
    if version == KEYED_HMAC:
        if key is None:
            raise ValueError("the keyed audit chain needs the audit key")
        return hmac.new(key, encoded, hashlib.sha256).digest()
    raise ValueError(f"unknown audit chain version {version}")


def chain_rows(
    rows: list[dict[str, Any]], previous: bytes | None, key: bytes
) -> list[dict[str, Any]]:
    """``rows`` as keyed entries, each linked to the one before; the first to ``previous``."""
    chained = []
    for row in rows:
        entry_hash = entry_digest(row, previous, CURRENT_VERSION, key)
        chained.append(
            {
                **row,
                "previous_hash": previous,
                "entry_hash": entry_hash,
                "chain_version": CURRENT_VERSION,
            }
        )
        previous = entry_hash
    return chained


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    problem: str


@dataclass
class ChainReport:
    """What `registry audit verify` found: the entries per version and every break."""

    entries: Counter = field(default_factory=Counter)  # chain version -> entries
    problems: list[ChainProblem] = field(default_factory=list)


def _stored_fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


def _problems_of(
    entry: AuditEntry, previous: bytes | None, keyed_seen: bool, key: bytes | None
) -> Iterator[str]:
    stored_previous = bytes(entry.previous_hash) if entry.previous_hash else None
    if stored_previous != previous:
        yield "link to the previous entry is broken"
    if entry.chain_version not in (LEGACY_SHA256, KEYED_HMAC):
        yield f"unknown chain version {entry.chain_version}"
        return
    if entry.chain_version == LEGACY_SHA256 and keyed_seen:
        yield "unkeyed entry after the keyed chain began"
    if entry.chain_version == KEYED_HMAC and key is None:
        yield "keyed entry, but no audit key to check it with"
        return
    expected = entry_digest(_stored_fields(entry), stored_previous, entry.chain_version, key)
    if not hmac.compare_digest(bytes(entry.entry_hash), expected):
        yield "content does not match its hash"


def verify_chain(session: Session, key: bytes | None, batch: int = 5000) -> ChainReport:
    """Check every entry, oldest first: its hash, its link and its version."""
    report = ChainReport()
    previous: bytes | None = None
    keyed_seen = False
    last_id = 0
    while True:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not entries:
            return report
        for entry in entries:
            report.entries[entry.chain_version] += 1
            report.problems.extend(
                ChainProblem(entry.id, problem)
                for problem in _problems_of(entry, previous, keyed_seen, key)
            )
            keyed_seen = keyed_seen or entry.chain_version == KEYED_HMAC
            previous = bytes(entry.entry_hash)
            last_id = entry.id
        session.expunge_all()
