"""Door numbers as people type them: "26栋601", "26栋 601", "26-1-601", "宝港路 601".

A standard address is stored in parts (door number 号, building 栋, entrance 单元, floor,
room 室). People write those parts in many ways: with or without their words, with 幢 or
号楼 for a building, with dashes or spaces between bare numbers, with a road or a housing
estate's name in front. :func:`parse_door_query` reads such a text into the parts it can
name; :func:`door_condition` turns the readings into one SQL condition on the address's
own columns; the search orders what matched by trigram similarity (pg_trgm) to the
address's normalised text, so that the likeliest reading comes first.

A bare number takes the place of any part, as long as the parts stay in the order an
address is written (door, building, entrance, room): "26-1-601" is building 26, entrance 1,
room 601 (or door 26, building 1, room 601, …), and every reading that exists is found.
"""

from __future__ import annotations

import enum
import itertools
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, false, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from registry.address.models import Address
from registry.address.text import like_pattern, normalise_address_text


class Part(enum.IntEnum):
    """The parts of an address below the road, in the order they are written."""

    DOOR = 0
    BUILDING = 1
    ENTRANCE = 2
    FLOOR = 3
    ROOM = 4


# The word after a number names its part; longer words first (号楼 before 号).
UNIT_WORDS: dict[str, Part] = {
    "号楼": Part.BUILDING,
    "号": Part.DOOR,
    "栋": Part.BUILDING,
    "幢": Part.BUILDING,
    "座": Part.BUILDING,
    "单元": Part.ENTRANCE,
    "层": Part.FLOOR,
    "楼": Part.FLOOR,
    "室": Part.ROOM,
    "户": Part.ROOM,
}
# What a bare number may stand for: never a floor (601 is a room, not the 601st floor).
BARE_PARTS = (Part.DOOR, Part.BUILDING, Part.ENTRANCE, Part.ROOM)
MAX_NUMBERS = 5  # door, building, entrance, floor and room at most

_WORDS = "|".join(sorted(UNIT_WORDS, key=len, reverse=True))
_NUMBER = r"[A-Z]?\d{1,6}[A-Z]?"
_SEPARATORS = r"[\s\-—–_/,，、]*"
_TOKEN = re.compile(rf"{_SEPARATORS}(?P<number>{_NUMBER}(?:-\d{{1,4}})*)(?P<word>{_WORDS})?")
# A place name: anything before the first number; a letter just before a digit (A1201)
# already belongs to the number.
_PLACE = re.compile(r"(?:[^\dA-Z]|[A-Z](?!\d))+")
_SEPARATOR_CHARS = " -—–_/,，、"


@dataclass(frozen=True)
class Number:
    """One number typed, and the part its word names (None: a bare number)."""

    value: str
    part: Part | None


@dataclass(frozen=True)
class DoorQuery:
    """A door-number search: the place text in front (a road, an estate) and the numbers.

    ``numbers`` has dashed runs split ("26-1-601" is three numbers); ``joined`` keeps them
    whole, since door numbers and rooms such as 17-1 exist (None when nothing is dashed).
    """

    place: str
    numbers: tuple[Number, ...]
    text: str  # the whole query, normalised as addresses are (for similarity)
    joined: tuple[Number, ...] | None = None

    def readings(self) -> list[dict[Part, str]]:
        """Every way to give each number a part, in the order addresses are written."""
        found = _readings(self.numbers)
        if self.joined is not None:
            found += [r for r in _readings(self.joined) if r not in found]
        return found

    @property
    def names_a_room(self) -> bool:
        """Whether every reading names a room."""
        readings = self.readings()
        return bool(readings) and all(Part.ROOM in reading for reading in readings)


def _readings(numbers: tuple[Number, ...]) -> list[dict[Part, str]]:
    choices = [[n.part] if n.part is not None else list(BARE_PARTS) for n in numbers]
    found = []
    for parts in itertools.product(*choices):
        if all(a < b for a, b in itertools.pairwise(parts)):
            found.append({part: n.value for part, n in zip(parts, numbers)})
    return found


def parse_door_query(value: str) -> DoorQuery | None:
    """The parts a search text names, or None when it is not a door-number search.

    Accepted: an optional place name first (road, estate), then one to five numbers, each
    with or without its word (号, 栋/幢/号楼/座, 单元, 层/楼, 室/户), separated by nothing,
    spaces or dashes. Anything else (a name, text after the numbers) is not a door number.
    A dashed run is read both ways: "26-1-601室" is building 26, entrance 1, room 601, or
    room "26-1-601"; "17-1号" is door 17-1, or building 17 and door 1 (whichever exists).
    """
    text = " ".join(unicodedata.normalize("NFKC", str(value or "")).upper().split())
    if not text:
        return None
    place_match = _PLACE.match(text)
    place = ""
    position = 0
    if place_match is not None:
        place = place_match.group(0).strip(_SEPARATOR_CHARS)
        position = place_match.end()
    numbers: list[Number] = []
    joined: list[Number] = []
    while position < len(text):
        token = _TOKEN.match(text, position)
        if token is None or token.end() == position:
            break
        number, word = token.group("number"), token.group("word")
        part = UNIT_WORDS[word] if word else None
        pieces = number.split("-")
        numbers.extend(Number(piece, None) for piece in pieces[:-1])
        numbers.append(Number(pieces[-1], part))
        joined.append(Number(number, part))
        position = token.end()
    if text[position:].strip(_SEPARATOR_CHARS) or not numbers or len(numbers) > MAX_NUMBERS:
        return None
    return DoorQuery(
        place,
        tuple(numbers),
        normalise_address_text(text),
        tuple(joined) if joined != numbers else None,
    )


_COLUMNS = {
    Part.DOOR: Address.door_number,
    Part.BUILDING: Address.building,
    Part.ENTRANCE: Address.entrance,
    Part.ROOM: Address.room,
}


def _part_equals(part: Part, value: str, address) -> ColumnElement[bool]:
    if part is Part.FLOOR:
        digits = value.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return address.floor == int(digits) if digits.isdigit() else false()
    column = getattr(address, _COLUMNS[part].key)
    return func.upper(column) == value


def door_condition(query: DoorQuery, address=Address) -> ColumnElement[bool]:
    """Addresses that match one reading of the query (each part equal, the place contained)."""
    readings = [
        and_(*(_part_equals(part, value, address) for part, value in reading.items()))
        for reading in query.readings()
    ]
    condition = or_(*readings) if readings else false()
    if query.place:
        place = normalise_address_text(query.place)
        condition = and_(condition, address.full_text.like(like_pattern(place), escape="\\"))
    return condition


# A word similarity (pg_trgm) from which a text is taken for a typo of the query: one
# wrong character in a road's name followed by its door number and building scores 0.55.
FUZZY_THRESHOLD = 0.5


def use_fuzzy_threshold(session: Session) -> None:
    """Set pg_trgm's word-similarity threshold to ours for the rest of the transaction.

    pg_trgm's default for its ``<%`` operator (0.6) misses a one-character typo in a short
    Chinese name; the operator is what lets the trigram index find the candidates, so it
    has to run at our threshold (``fuzzy_condition``)."""
    session.execute(
        select(func.set_config("pg_trgm.word_similarity_threshold", str(FUZZY_THRESHOLD), True))
    )


def fuzzy_condition(text: str, address=Address) -> ColumnElement[bool]:
    """Addresses whose text holds something close to ``text`` (a typo in a road's name).

    Used only when the exact search found nothing, after ``use_fuzzy_threshold``. The
    ``<%`` operator is served by the trigram index on the address text; comparing
    ``word_similarity`` alone read all 500,000 addresses of the large demo (2.9 s).
    """
    normalised = normalise_address_text(text)
    return and_(
        literal(normalised).op("<%")(address.full_text),
        func.word_similarity(normalised, address.full_text) >= FUZZY_THRESHOLD,
    )
