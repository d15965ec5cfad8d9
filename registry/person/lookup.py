"""How a typed name finds people, in the one way the indexes can serve at district scale.

- 3 or more characters: anywhere in the name, case-insensitively (``ILIKE '%…%'``, served
  by the trigram index ``ix_person_name_trgm``).
- exactly 2 characters: anywhere in the name too, through the index of the name's
  character pairs (``ix_person_name_bigrams``): trigrams cannot serve a 2-character query,
  and 30% of people have 2-character names.
- 1 character: refused; a surname alone matches a tenth of the district.
"""

from __future__ import annotations

from sqlalchemy import Text, cast, func
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql.elements import ColumnElement

from registry.person.models import Person

MIN_NAME_LENGTH = 2


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in the user's text taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_matches(text: str) -> ColumnElement[bool]:
    """People whose name contains ``text`` (at least MIN_NAME_LENGTH characters)."""
    if len(text) < MIN_NAME_LENGTH:
        raise ValueError("a name query needs at least 2 characters")
    if len(text) == 2:
        # The same expression as the index, so that the planner uses it.
        pairs = func.name_bigrams(Person.name, type_=ARRAY(Text))
        return pairs.contains(cast(array([text.lower()]), ARRAY(Text)))
    return Person.name.ilike(like_pattern(text), escape="\\")


def phone_contains(digits: str) -> ColumnElement[bool]:
    """People whose phone number contains these digits (trigram index on the phone)."""
    return Person.phone.like(like_pattern(digits), escape="\\")
