"""Fictional but valid-checksum identifiers for the demo: resident IDs, passports, credit codes.

Numbers are drawn so that they are unique, carry the right check digits and real birth
dates, and belong to no one: the sequence part is random, not taken from any real list.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from stdnum.cn import uscc

# GB 11643 weights for the 17 body digits and the check character for each remainder.
_RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_RIC_CHECK = np.array(list("10X98765432"))
# Region codes on the cards: issued all over the country, so a transient population has
# many. They are only ever used to build a well-formed number (DOMAIN.md: never in rules).
REGION_CODES = np.array(
    [
        420102,
        420103,
        420104,
        420105,
        420106,
        420111,
        420112,
        420113,
        420114,
        420115,
        420116,
        420117,
        420902,
        421002,
        421122,
        421281,
        422801,
        430102,
        430602,
        411502,
        412723,
        360102,
        361002,
        500101,
        510104,
        340104,
        320102,
        440305,
        370102,
        130102,
    ]
)


def _check_characters(bodies: np.ndarray) -> np.ndarray:
    digits = (bodies[:, None] // 10 ** np.arange(16, -1, -1)) % 10
    return _RIC_CHECK[(digits * _RIC_WEIGHTS).sum(axis=1) % 11]


def resident_ids(rng: np.random.Generator, birth_dates: np.ndarray) -> list[str]:
    """One unique, checksum-valid resident ID number per birth date (numpy datetime64[D])."""
    count = len(birth_dates)
    regions = REGION_CODES[rng.integers(0, len(REGION_CODES), size=count)].astype(np.int64)
    years = birth_dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth_dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth_dates - birth_dates.astype("datetime64[M]")).astype(np.int64) + 1
    ymd = years * 10000 + months * 100 + days
    bodies = regions * 10**11 + ymd * 1000 + rng.integers(0, 1000, size=count)
    bodies = _make_unique(rng, bodies)
    checks = _check_characters(bodies)
    return [f"{body:017d}{check}" for body, check in zip(bodies.tolist(), checks.tolist())]


def _make_unique(rng: np.random.Generator, bodies: np.ndarray) -> np.ndarray:
    """Redraw the three sequence digits of duplicates until every body is unique."""
    for _attempt in range(100):
        _, first_index = np.unique(bodies, return_index=True)
        duplicate = np.ones(len(bodies), dtype=bool)
        duplicate[first_index] = False
        if not duplicate.any():
            return bodies
        base = bodies[duplicate] // 1000 * 1000
        bodies[duplicate] = base + rng.integers(0, 1000, size=int(duplicate.sum()))
    raise ValueError("too many people share a region and birth date for unique ID numbers")


def passports(rng: np.random.Generator, count: int) -> list[str]:
    """Unique passport-like numbers: a letter and eight digits."""
    numbers = rng.choice(10**8, size=count, replace=False)
    letters = np.array(list("EGPKLM"))[rng.integers(0, 6, size=count)]
    return [f"{letter}{number:08d}" for letter, number in zip(letters.tolist(), numbers.tolist())]


def birth_dates(rng: np.random.Generator, count: int, today: date) -> np.ndarray:
    """Ages of a city population: mostly 18–70, some children and elderly."""
    ages = np.clip(rng.normal(40, 17, size=count), 0.2, 95)
    days = (ages * 365.25).astype(np.int64)
    return np.datetime64(today.isoformat()) - days.astype("timedelta64[D]")


def credit_codes(rng: np.random.Generator, count: int, district_code: str) -> list[str]:
    """Unique Unified Social Credit Codes with a correct GB 32100 check character."""
    alphabet = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    kinds = np.array(["91", "92", "52", "12"])[rng.choice(4, size=count, p=[0.7, 0.2, 0.05, 0.05])]
    serials = rng.choice(10**8, size=count, replace=False)
    tails = alphabet[rng.integers(0, 10, size=count)]
    codes = []
    for kind, serial, tail in zip(kinds.tolist(), serials.tolist(), tails.tolist()):
        body = f"{kind}{district_code}{serial:08d}{tail}"
        codes.append(body + uscc.calc_check_digit(body))
    return codes


def phone_numbers(rng: np.random.Generator, count: int) -> list[str]:
    """Mainland mobile numbers (fictional: random subscriber digits)."""
    prefixes = np.array(
        [
            130,
            131,
            132,
            135,
            136,
            137,
            138,
            139,
            150,
            151,
            152,
            155,
            157,
            158,
            159,
            166,
            170,
            176,
            177,
            180,
            181,
            182,
            185,
            186,
            187,
            188,
            189,
            199,
        ]
    )
    chosen = prefixes[rng.integers(0, len(prefixes), size=count)]
    subscribers = rng.integers(0, 10**8, size=count)
    return [f"{p}{s:08d}" for p, s in zip(chosen.tolist(), subscribers.tolist())]


def days_to_dates(days: np.ndarray) -> list[str]:
    """ISO date strings for COPY from numpy datetime64[D] values."""
    return np.datetime_as_string(days, unit="D").tolist()
