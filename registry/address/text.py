"""The normalised full text of a standard address, the form search matches against."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalise_address_text(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), no spaces, upper-case letters."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).upper()


def address_full_text(
    area: str,
    road: str,
    door_number: str,
    building: str | None = None,
    entrance: str | None = None,
    floor: int | None = None,
    room: str | None = None,
) -> str:
    """区街道社区 + 路 + 门牌号 + 栋 + 单元 + 室, in the order people write an address.

    ``floor`` is not written separately: a room number such as 502 already carries it,
    and writing 5层502室 would not match what residents type.
    """
    parts = [area, road, f"{door_number}号"]
    if building:
        parts.append(f"{building}栋")
    if entrance:
        parts.append(f"{entrance}单元")
    if room:
        parts.append(f"{room}室")
    elif floor is not None:
        parts.append(f"{floor}层")
    return normalise_address_text("".join(parts))


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character ``\\``) that finds ``text`` anywhere, literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
