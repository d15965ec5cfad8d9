"""The README says what the code does: the extensions to create, the demo's accounts."""

import re

from geo.demo_layout import SIZES, build_layout
from registry.config import PROJECT_ROOT
from registry.demo.generate import demo_accounts, login_summary
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


def test_demo_logins_are_the_accounts_the_small_demo_makes():
    rows = re.findall(r"^\| (\w[^|]*?) \| (`[^|]*`) \|", _section("Demo logins"), re.M)
    # "police officer 民警": the English before the Chinese is the kind the generator says.
    listed = [(kind.rsplit(" ", 1)[0], names.replace("`", "")) for kind, names in rows]
    assert login_summary(demo_accounts(build_layout(SIZES["small"], 1))) == listed
