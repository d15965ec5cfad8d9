"""The README says what the code does: the extensions an administrator creates."""

import re

from registry.config import PROJECT_ROOT
from registry.extensions import REQUIRED_EXTENSIONS

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_extensions_an_administrator_creates_are_the_ones_the_schema_needs():
    section = _section("Run it against an existing server")
    statements = re.search(r"```sql\n(.*?)```", section, re.S).group(1).splitlines()
    assert statements == [f"CREATE EXTENSION IF NOT EXISTS {name};" for name in REQUIRED_EXTENSIONS]
