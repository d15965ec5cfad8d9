"""Keep a personal search's results on the server, so that Back and the record pages'
"back to results" link work without sending the search again.

A search by name, phone or document number is sent by POST (it never goes into a URL).
Its answer is a redirect (POST/redirect/GET) to a results page whose URL carries only a
random token; what the token opens is kept here:

- the ids of what was found and the kind of search, never the query itself;
- for one user and one page (``scope``): another user, or the other page, gets "not
  found", the same as an unknown token;
- for ``KEEP_MINUTES``; expired rows are deleted whenever the same user searches again,
  and a user keeps at most ``KEEP_PER_USER`` searches;
- under the token's SHA-256 only, so whoever reads the table cannot open the pages.

The records are read again, in the user's scope, each time the page is shown: a record
that has left the user's scope since is not shown. Nothing goes into Flask's session
cookie, which is signed but readable by anyone who holds it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.errors import NotFound
from registry.searches.models import KeptSearch

KEEP_MINUTES = 30
KEEP_PER_USER = 20
TOKEN_BYTES = 24
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")  # token_urlsafe(24): 32 characters


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def keep_results(
    session: Session, actor: UserAccount, scope: str, found: dict[str, Any], now: datetime
) -> str:
    """Keep ``found`` (ids and the kind of search) for the actor; return the token."""
    session.execute(
        delete(KeptSearch).where(KeptSearch.user_id == actor.id, KeptSearch.expires_at <= now)
    )
    older = (
        select(KeptSearch.token_hash)
        .where(KeptSearch.user_id == actor.id)
        .order_by(KeptSearch.created_at.desc(), KeptSearch.expires_at.desc())
        .offset(KEEP_PER_USER - 1)
    )
    session.execute(delete(KeptSearch).where(KeptSearch.token_hash.in_(older)))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        KeptSearch(
            token_hash=_hash(token),
            user_id=actor.id,
            scope=scope,
            found=found,
            created_at=now,
            expires_at=now + timedelta(minutes=KEEP_MINUTES),
        )
    )
    session.flush()
    return token


def kept_results(
    session: Session, actor: UserAccount, scope: str, token: str, now: datetime
) -> dict[str, Any]:
    """What the token opens for this actor and page, or NotFound (unknown, another user's,
    another page's, or expired: all look the same)."""
    if not TOKEN_PATTERN.fullmatch(token or ""):
        raise NotFound()
    found = session.scalar(
        select(KeptSearch.found).where(
            KeptSearch.token_hash == _hash(token),
            KeptSearch.user_id == actor.id,
            KeptSearch.scope == scope,
            KeptSearch.expires_at > now,
        )
    )
    if found is None:
        raise NotFound()
    return found
