"""Chinese first: every message in the code and templates has its Chinese in the catalog.

English falls back to the msgid, so a message missing from the Chinese catalog shows up as
English on a page that is otherwise Chinese. The messages are extracted from the source the
same way `pybabel extract` does (registry/translations/babel.cfg), so a new string without
its Chinese fails here, not in front of a grid worker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "registry" / "translations"
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None,
            "ngettext": (1, 2), "lazy_ngettext": (1, 2)}  # fmt: skip
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def _extracted() -> dict[str, str]:
    """Every msgid in registry/, geo/ and templates/, with where it is (for the message)."""
    with open(TRANSLATIONS / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def messages() -> dict[str, str]:
    return _extracted()


@pytest.fixture(scope="module")
def chinese():
    path = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as catalog:
        return read_po(catalog)


def _translation(catalog, msgid: str) -> list[str]:
    entry = catalog.get(msgid)
    if entry is None or entry.fuzzy:
        return []
    strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return [text for text in strings if text]


def test_extraction_finds_the_app_messages(messages):
    # Guards the test itself: an extraction that found nothing would pass everything below.
    assert "Log in" in messages or len(messages) > 300


def test_every_message_has_its_chinese(messages, chinese):
    missing = [f"{where}: {msgid!r}" for msgid, where in sorted(messages.items())
               if not _translation(chinese, msgid)]  # fmt: skip
    assert not missing, "no Chinese for:\n" + "\n".join(missing)


def test_each_chinese_message_keeps_the_placeholders_of_its_msgid(messages, chinese):
    wrong = []
    for msgid in messages:
        wanted = sorted(PLACEHOLDER.findall(msgid))
        for text in _translation(chinese, msgid):
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                wrong.append(f"{msgid!r} -> {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_no_message_appears_twice_in_the_chinese_catalog():
    # Lanes append to the catalog; a msgid given twice makes msgfmt keep one at random.
    path = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    # Read entry by entry, not block by block: appended blocks that lost the blank line
    # between them (union merges) are still two entries.
    lines = path.read_text(encoding="utf-8").splitlines()
    seen: dict[str, int] = {}
    context = ""
    for number, line in enumerate(lines):
        if line.startswith("msgctxt "):
            context = "".join(re.findall(r'"(.*)"', line)) + "\x04"
        elif line.startswith("msgid "):
            parts = [line]
            for more in lines[number + 1 :]:
                if not more.startswith('"'):
                    break
                parts.append(more)
            key = context + "".join(re.findall(r'"(.*)"', "\n".join(parts)))
            seen[key] = seen.get(key, 0) + 1
            context = ""
    assert len(seen) > 300  # the blocks were read
    twice = sorted(key for key, count in seen.items() if count > 1 and key)
    assert not twice, "given twice:\n" + "\n".join(twice)
