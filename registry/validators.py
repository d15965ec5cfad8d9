"""Pure field validators shared by forms, CLI, importer and API.

Every validator takes the raw value and returns the normalised value or raises
:class:`FieldError`, so the same input gets the same verdict on every path into the
registry. Messages are lazy English msgids translated later through Babel catalogs; they
never echo the rejected value, because that value is often personal data that would
otherwise end up in logs.

Region digits of document numbers are checked only so far as a resident ID's province must
exist (GB/T 2260): nothing here derives a place from them (DOMAIN.md, "Flags"). The search
detector (:func:`classify_query`) and the one date parser (:func:`parse_date`) live here
too, so every search box and every form reads a number or a date the same way.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
MAX_FLOOR_AREA = Decimal("100000")
AREA_STEP = Decimal("0.01")
DEFAULT_INT_MAXIMUM = 1000
NAME_MAX_LENGTH = 50
HMT_PREFIXES = ("810000", "820000", "830000")
# Provinces of GB/T 2260 (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82): only
# whether the code exists is checked, never which one it is (DOMAIN.md, "Flags").
_PROVINCE_CODES = frozenset(
    f"{code}"
    for first, last in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71))
    for code in range(first, last + 1)
) | {"81", "82"}

_DATE_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})",
        r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})",
        r"(?P<year>\d{4})\.(?P<month>\d{1,2})\.(?P<day>\d{1,2})",
        r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})",
        r"(?P<year>\d{4})年(?P<month>\d{1,2})月(?P<day>\d{1,2})日",
    )
)
_RESIDENT_ID_RE = re.compile(r"\d{17}[\dX]")
_FOREIGN_2017_RE = re.compile(r"[A-Z]{3}\d{12}")
_FOREIGN_2023_RE = re.compile(r"9\d{16}[\dX]")
_PASSPORT_RE = re.compile(r"[A-Z0-9]{5,17}")
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
# 010 and 020-029 are the only three-digit area codes; every other code has four digits,
# so the digits alone say where the area code ends. A local number never starts with 0.
_LANDLINE_RE = re.compile(r"0(?:10|2\d|[3-9]\d{2})[1-9]\d{6,7}")
_EXTENSION_WORD_RE = re.compile(r"(?P<main>.+?)\s*(?:ext\.?|x|转|分机|#)\s*(?P<ext>\d{1,6})", re.I)
_EXTENSION_DASH_RE = re.compile(r"(?P<main>.*\d{7,8})\s*-\s*(?P<ext>\d{1,6})")
_PHONE_SEPARATORS_RE = re.compile(r"[\s\-().]")
_DOCUMENT_SEPARATORS_RE = re.compile(r"[\s\-]")
_REJECTED_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


class FieldError(ValueError):
    """One field's rejection, carrying a translatable message for whichever UI shows it."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationErrors(ValueError):
    """Several field errors gathered so a form or import row reports all of them at once."""

    def __init__(self, errors: dict[str, list[Any]] | None = None) -> None:
        super().__init__()
        self.errors: dict[str, list[Any]] = {k: list(v) for k, v in (errors or {}).items()}

    def add(self, field: str, message: Any) -> None:
        """Record one more message for ``field``."""
        self.errors.setdefault(field, []).append(message)

    @contextmanager
    def collect(self) -> Iterator[ValidationErrors]:
        """Record a :class:`FieldError` raised in the block instead of letting it escape."""
        try:
            yield self
        except FieldError as error:
            self.add(error.field, error.message)

    def raise_if_any(self) -> None:
        """Raise this collection if anything was recorded."""
        if self.errors:
            raise self

    def __str__(self) -> str:
        return "; ".join(
            f"{field}: {', '.join(str(m) for m in messages)}"
            for field, messages in self.errors.items()
        )


class DocumentType(enum.StrEnum):
    """The identity document a person's number comes from: a number is only valid per type."""

    RESIDENT_ID = "resident_id"  # 居民身份证
    PASSPORT = "passport"  # 护照
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"  # 港澳台居民居住证
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"  # 外国人永久居留身份证

    @property
    def label(self) -> Any:
        """Translatable name for forms and tables."""
        return _DOCUMENT_LABELS[self]


_DOCUMENT_LABELS = {
    DocumentType.RESIDENT_ID: _l("Resident identity card"),
    DocumentType.PASSPORT: _l("Passport"),
    DocumentType.HMT_RESIDENCE_PERMIT: _l("Residence permit for Hong Kong, Macao and Taiwan"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: _l("Foreign permanent resident ID card"),
}


# -- helpers -------------------------------------------------------------------------------


def _text(value: Any, field: str) -> str:
    """Raw input as NFKC text (full-width digits from Chinese IMEs become ASCII)."""
    if value is None:
        raise FieldError(field, _l("This field is required"))
    if isinstance(value, float):
        # Spreadsheets keep only 15 significant digits: a float number is already damaged.
        raise FieldError(field, _l("Enter this value as text, not as a spreadsheet number"))
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(field, _l("Enter this value as text"))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        raise FieldError(field, _l("This field is required"))
    return text


def _compact_document(value: Any, field: str) -> str:
    """Document number without spaces or dashes, upper case."""
    return _DOCUMENT_SEPARATORS_RE.sub("", _text(value, field)).upper()


def parse_date(value: Any, field: str) -> date:
    """The one date parser of every form, service and import.

    Accepts a date, a datetime, or text as written in China after NFKC (so full-width
    digits from an IME count): 2027-01-01, 2027/1/1, 2027.1.1, 20270101, 2027年1月1日.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value, field)
    match = next(filter(None, (pattern.fullmatch(text) for pattern in _DATE_PATTERNS)), None)
    if match is None:
        raise FieldError(field, _l("Not a valid date"))
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise FieldError(field, _l("Not a valid date")) from None


def _check_birth_range(born: date, field: str, today: date) -> date:
    """Reject birth dates in the future or before 1900."""
    if born > today:
        raise FieldError(field, _l("Birth date is in the future"))
    if born < EARLIEST_BIRTH_DATE:
        raise FieldError(field, _l("Birth date is before 1900"))
    return born


def _embedded_birth_date(number: str, field: str, today: date) -> date:
    """The birth date in digits 7-14 of a GB 11643-style number, checked for sense."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise FieldError(field, _l("The birth date in the number is not a real date")) from None
    return _check_birth_range(born, field, today)


def _check_gb11643(number: str, field: str, today: date) -> str:
    """Length, format, MOD 11-2 check digit and birth date; the region code is not judged."""
    if len(number) != 18:
        raise FieldError(field, _l("Must be 18 characters"))
    if not _RESIDENT_ID_RE.fullmatch(number):
        raise FieldError(field, _l("Must be 17 digits followed by a digit or X"))
    if number[-1] != ric.calc_check_digit(number):
        raise FieldError(field, _l("Check digit is wrong"))
    _embedded_birth_date(number, field, today)
    return number


# -- identity documents --------------------------------------------------------------------


def validate_resident_id(value: Any, *, today: date, field: str = "document_number") -> str:
    """Resident ID (GB 11643) normalised; avoids ric.validate, which rejects real numbers.

    Unlike the permits built the same way, a resident ID starts with a province code that
    exists (GB/T 2260); the county digits below it are not judged (retired codes are on
    millions of cards, and nothing may be derived from them).
    """
    number = _check_gb11643(_compact_document(value, field), field, today)
    if number[:2] not in _PROVINCE_CODES:
        raise FieldError(field, _l("The first two digits are not a province code"))
    return number


def resident_id_birth_date(number: Any, *, today: date, field: str = "document_number") -> date:
    """Birth date embedded in a resident ID number, after validating the number."""
    normalised = validate_resident_id(number, field=field, today=today)
    return _embedded_birth_date(normalised, field, today)


def validate_hmt_residence_permit(
    value: Any, *, today: date, field: str = "document_number"
) -> str:
    """Hong Kong/Macao/Taiwan residence permit: 810000/820000/830000 plus GB 11643 rules."""
    number = _compact_document(value, field)
    if len(number) == 18 and not number.startswith(HMT_PREFIXES):
        raise FieldError(field, _l("Must start with 810000, 820000 or 830000"))
    return _check_gb11643(number, field, today)


def validate_foreign_permanent_residence(
    value: Any, *, today: date, field: str = "document_number"
) -> str:
    """Foreign permanent resident card: 2017 (3 letters + 12 digits) or 2023 (18, from 9)."""
    number = _compact_document(value, field)
    if len(number) == 15:
        if not _FOREIGN_2017_RE.fullmatch(number):
            raise FieldError(field, _l("Must be 3 letters followed by 12 digits"))
        return number
    if len(number) == 18:
        if not _FOREIGN_2023_RE.fullmatch(number):
            raise FieldError(field, _l("Must start with 9 and be 17 digits and a digit or X"))
        return _check_gb11643(number, field, today)
    raise FieldError(field, _l("Must be 15 or 18 characters"))


def validate_passport(value: Any, *, field: str = "document_number") -> str:
    """Passport number: 5-17 letters and digits; foreign formats vary too much for more."""
    number = _compact_document(value, field)
    if not _PASSPORT_RE.fullmatch(number):
        raise FieldError(field, _l("Must be 5 to 17 letters and digits"))
    return number


def validate_document(
    document_type: DocumentType | str,
    value: Any,
    *,
    today: date,
    field: str = "document_number",
) -> str:
    """Normalised number for the given document type; every entry path goes through here."""
    try:
        kind = DocumentType(document_type)
    except ValueError:
        raise FieldError("document_type", _l("Unknown document type")) from None
    if kind is DocumentType.PASSPORT:
        return validate_passport(value, field=field)
    validator = {
        DocumentType.RESIDENT_ID: validate_resident_id,
        DocumentType.HMT_RESIDENCE_PERMIT: validate_hmt_residence_permit,
        DocumentType.FOREIGN_PERMANENT_RESIDENCE: validate_foreign_permanent_residence,
    }[kind]
    return validator(value, field=field, today=today)


def validate_credit_code(value: Any, *, field: str = "credit_code") -> str:
    """Unified Social Credit Code (GB 32100), normalised to 18 upper-case characters."""
    code = _compact_document(value, field)
    try:
        return uscc.validate(code)
    except InvalidLength:
        raise FieldError(field, _l("Must be 18 characters")) from None
    except InvalidChecksum:
        raise FieldError(field, _l("Check digit is wrong")) from None
    except ValidationError:
        raise FieldError(field, _l("Contains characters not allowed in a credit code")) from None


# -- contact -------------------------------------------------------------------------------


def _split_extension(text: str) -> tuple[str, str | None]:
    """Separate a landline extension ("ext 12", "转12", "-12" after the number)."""
    match = _EXTENSION_WORD_RE.fullmatch(text) or _EXTENSION_DASH_RE.fullmatch(text)
    if match is None:
        return text, None
    return match["main"], match["ext"]


def _strip_country_code(digits: str) -> str:
    """Domestic form of a number written with +86, 0086 or 86 in front."""
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix):
            rest = digits[len(prefix) :]
            if _MOBILE_RE.fullmatch(rest) or rest.startswith("0"):
                return rest
            return "0" + rest  # area codes drop their leading 0 after +86: +86 10 ...
    return digits


def validate_phone(value: Any, *, field: str = "phone") -> str:
    """Mainland mobile or landline as digits ("13812345678", "01012345678-123")."""
    main, extension = _split_extension(_text(value, field))
    digits = _strip_country_code(_PHONE_SEPARATORS_RE.sub("", main))
    if _MOBILE_RE.fullmatch(digits):
        if extension is not None:
            raise FieldError(field, _l("A mobile number has no extension"))
        return digits
    if _LANDLINE_RE.fullmatch(digits):
        return digits if extension is None else f"{digits}-{extension}"
    raise FieldError(field, _l("Not a mainland mobile or landline number"))


# -- dates ---------------------------------------------------------------------------------


def validate_date_order(start: Any, end: Any, field: str = "end") -> date | None:
    """The end of an interval, which may be open (None) but never before its start."""
    if end is None or end == "":
        return None
    end_date = parse_date(end, field)
    if start is None or start == "":
        return end_date
    if end_date < parse_date(start, field):
        raise FieldError(field, _l("The end date is before the start date"))
    return end_date


def validate_birth_date(value: Any, *, today: date, field: str = "birth_date") -> date:
    """Birth date that is neither in the future nor before 1900."""
    return _check_birth_range(parse_date(value, field), field, today)


# -- numbers -------------------------------------------------------------------------------


def _as_decimal(value: Any, field: str) -> Decimal:
    """Exact decimal of the raw value; floats go through their shortest repr."""
    if isinstance(value, bool):
        raise FieldError(field, _l("Enter a number"))
    raw = value if isinstance(value, Decimal) else str(value).strip()
    if raw == "":
        raise FieldError(field, _l("This field is required"))
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise FieldError(field, _l("Enter a number")) from None
    if not number.is_finite():
        raise FieldError(field, _l("Enter a number"))
    return number


def validate_positive_area(value: Any, *, field: str = "floor_area") -> Decimal:
    """Floor area in m2: positive, at most 100000 and at most two decimals."""
    if value is None:
        raise FieldError(field, _l("This field is required"))
    area = _as_decimal(value, field)
    if area <= 0:
        raise FieldError(field, _l("Must be greater than zero"))
    if area > MAX_FLOOR_AREA:
        raise FieldError(field, _l("Must be at most %(maximum)s", maximum=MAX_FLOOR_AREA))
    quantised = area.quantize(AREA_STEP)
    if quantised != area:
        raise FieldError(field, _l("At most two decimal places"))
    return quantised


def validate_positive_int(value: Any, field: str, *, maximum: int = DEFAULT_INT_MAXIMUM) -> int:
    """Whole count (rooms, occupants) from 1 to ``maximum``."""
    if value is None:
        raise FieldError(field, _l("This field is required"))
    number = _as_decimal(value, field)
    if number != number.to_integral_value():
        raise FieldError(field, _l("Enter a whole number"))
    if number <= 0:
        raise FieldError(field, _l("Must be greater than zero"))
    if number > maximum:
        raise FieldError(field, _l("Must be at most %(maximum)s", maximum=maximum))
    return int(number)


# -- names ---------------------------------------------------------------------------------


def validate_name(value: Any, *, field: str = "name") -> str:
    """Person name: 1-50 characters, whitespace collapsed, no control characters."""
    if value is None:
        raise FieldError(field, _l("This field is required"))
    if not isinstance(value, str):
        raise FieldError(field, _l("Enter this value as text"))
    # NFC, not NFKC: keep the characters as written; private-use and unassigned code
    # points stay allowed because rare characters in names (生僻字) often live there.
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise FieldError(field, _l("This field is required"))
    if any(unicodedata.category(char) in _REJECTED_NAME_CATEGORIES for char in text):
        raise FieldError(field, _l("Contains control characters"))
    name = " ".join(text.split())
    if len(name) > NAME_MAX_LENGTH:
        raise FieldError(field, _l("At most %(maximum)s characters", maximum=NAME_MAX_LENGTH))
    return name


# -- what a search box holds ---------------------------------------------------------------

# Detection judges the form of a number, not whether its birth date has come yet: a number
# born "tomorrow" is still somebody's document number and must be treated as one.
_ANY_DAY = date.max
_CHECKED_DOCUMENTS = (
    DocumentType.RESIDENT_ID,
    DocumentType.HMT_RESIDENCE_PERMIT,
    DocumentType.FOREIGN_PERMANENT_RESIDENCE,
)
_UNIT_WORDS = "号楼|号|栋|幢|座|单元|室|层|楼|户"
# One or more door-number parts: 17, 17号, 12栋, 2单元, 502室, A1201, 26-1-601.
_DOOR_RE = re.compile(rf"(?:[A-Z]?\d{{1,5}}[A-Z]?(?:{_UNIT_WORDS})?(?:[-—])?){{1,5}}")
_PLACE_WORDS_RE = re.compile(
    rf"路|街|巷|弄|胡同|大道|小区|社区|花园|公寓|大厦|广场|\d(?:{_UNIT_WORDS})"
)
_DIGIT_RUN_RE = re.compile(r"\d{6,}")
_NUMBER_ONLY_RE = re.compile(r"[+\d\s\-()]+")


class QueryKind(enum.StrEnum):
    """What a typed search is, decided once for every search box (grid worker, officer)."""

    DOCUMENT = "document"  # a number with a valid check character: a person's document
    PHONE = "phone"  # a whole mainland mobile or landline number
    DOOR = "door"  # door number, building, entrance, room: 17号, 12栋2单元, 26-1-601, A1201
    PLACE = "place"  # a road or a named place: 解放路, 幸福小区
    NUMBER = "number"  # six digits or more that are none of the above: part of a phone, a typo
    TEXT = "text"  # anything else, such as a person's or an organisation's name

    @property
    def is_personal(self) -> bool:
        """Personal data, or possibly so: searched only by POST, never written into a URL."""
        return self not in (QueryKind.DOOR, QueryKind.PLACE)


@dataclass(frozen=True)
class SearchQuery:
    """A search text as NFKC with spaces collapsed, and what it was recognised as."""

    text: str
    kind: QueryKind
    documents: tuple[tuple[DocumentType, str], ...] = ()  # (type, normalised number)
    phone: str | None = None

    @property
    def digits(self) -> str:
        """The digits only, for a search by part of a phone number."""
        return "".join(char for char in self.text if char.isdigit())

    @property
    def is_number_only(self) -> bool:
        """Digits with the separators of a phone number and nothing else."""
        return bool(_NUMBER_ONLY_RE.fullmatch(self.text))


def document_numbers(value: Any) -> tuple[tuple[DocumentType, str], ...]:
    """The check-character document types ``value`` is a valid number of, normalised.

    Strict on purpose: a passport or a 2017 permanent-residence card has no check
    character, so "A1201" is a room, not a passport, unless the user chose that type.
    """
    found = []
    for kind in _CHECKED_DOCUMENTS:
        try:
            found.append((kind, validate_document(kind, value, today=_ANY_DAY)))
        except FieldError:
            continue
    return tuple(found)


def classify_query(value: Any) -> SearchQuery:
    """Is this a document number, a phone number, a door number, a place or other text?"""
    text = " ".join(unicodedata.normalize("NFKC", str(value or "")).split())
    if not text:
        return SearchQuery(text, QueryKind.TEXT)
    documents = document_numbers(text)
    if documents:
        return SearchQuery(text, QueryKind.DOCUMENT, documents=documents)
    try:
        return SearchQuery(text, QueryKind.PHONE, phone=validate_phone(text))
    except FieldError:
        pass
    compact = text.replace(" ", "").upper()
    if _DOOR_RE.fullmatch(compact) and not _DIGIT_RUN_RE.search(compact):
        return SearchQuery(text, QueryKind.DOOR)
    if _DIGIT_RUN_RE.search(compact):
        return SearchQuery(text, QueryKind.NUMBER)
    if _PLACE_WORDS_RE.search(compact):
        return SearchQuery(text, QueryKind.PLACE)
    return SearchQuery(text, QueryKind.TEXT)


def document_query(document_type: Any, value: Any, *, today: date, field: str = "q") -> SearchQuery:
    """A search for a number typed under a document type the user chose (passports too)."""
    try:
        kind = DocumentType(str(document_type or ""))
    except ValueError:
        raise FieldError("document_type", _l("Unknown document type")) from None
    number = validate_document(kind, value, today=today, field=field)
    return SearchQuery(number, QueryKind.DOCUMENT, documents=((kind, number),))
