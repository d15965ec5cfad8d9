"""One label per enum value, in one place (registry/labels.py), used by every page."""

import ast
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from registry.config import PROJECT_ROOT
from registry.labels import ENUM_LABELS, FILING_STATE_LABELS, label_of
from registry.lease.models import LeaseStatus

FILING_STATES = tuple(FILING_STATE_LABELS)
LOCALES = ("zh_CN", "en")


@pytest.mark.parametrize("enum", list(ENUM_LABELS), ids=lambda enum: enum.__name__)
def test_every_value_has_exactly_one_label_and_no_two_values_share_one(app, enum):
    table = ENUM_LABELS[enum]
    assert set(table) == set(enum)
    for locale in LOCALES:
        with app.test_request_context(), force_locale(locale):
            shown = [label_of(table, value) for value in enum]
        assert len(set(shown)) == len(shown), (locale, shown)


def _filing(state: str, today: date):
    """A filing that stands in ``state`` on ``today``, for the lease pages' label."""
    day = timedelta(days=1)
    starts, ends = {
        "current": (today - day, today + day),
        "future": (today + day, today + 2 * day),
        "expired": (today - 2 * day, today - day),
        "ended_early": (today - day, today + day),
        "cancelled": (today + day, today + 2 * day),
    }[state]
    status = {"ended_early": LeaseStatus.ENDED_EARLY, "cancelled": LeaseStatus.CANCELLED}.get(
        state, LeaseStatus.FILED
    )
    return SimpleNamespace(status=status, starts_on=starts, ends_on=ends)


def _page_labels(app) -> dict:
    """Every label table or helper a page, form or trail reads, by what it names."""
    from registry.admin.forms import UserCreateForm
    from registry.app import role_label
    from registry.dashboard.labels import value_labels
    from registry.dashboard.views import _labels as dashboard_context
    from registry.dwelling.forms import DwellingForm
    from registry.grid.forms import options
    from registry.grid.views import _labels as grid_context
    from registry.lease import views as lease_views
    from registry.organisation.forms import OrganisationForm
    from registry.person.forms import MoveInForm

    app.config["WTF_CSRF_ENABLED"] = False
    dwelling, move_in, organisation = DwellingForm(), MoveInForm(), OrganisationForm()
    user = UserCreateForm()
    user.set_role_choices()
    grid, dashboard = grid_context(), dashboard_context()
    today = date(2026, 11, 25)

    def choices(field):
        pairs = options(field.choices)
        return {choice.value: choice.label for choice in pairs}

    return {
        "role": [role_label, choices(user.role).get, value_labels("user_account", "role")],
        "use": [choices(dwelling.use).get, grid["use_labels"], dashboard["use_labels"]],
        "occupancy": [
            choices(dwelling.occupancy).get,
            grid["occupancy_labels"],
            dashboard["occupancy_labels"],
            lease_views.occupancy_label,
            value_labels("dwelling", "occupancy"),
        ],
        "residence_kind": [
            choices(move_in.kind).get,
            grid["residence_kind_labels"],
            dashboard["residence_kind_labels"],
            value_labels("residence", "kind"),
        ],
        "relationship": [
            choices(move_in.relationship).get,
            grid["relationship_labels"],
            dashboard["relationship_labels"],
            value_labels("residence", "relationship"),
        ],
        "organisation_kind": [
            choices(organisation.kind).get,
            grid["organisation_kind_labels"],
            value_labels("organisation", "kind"),
        ],
        "lease_status": [lease_views.status_value_label, value_labels("lease_filing", "status")],
        "pledge_kind": [lease_views.pledge_label],
        "signer_role": [
            lease_views.signer_role_label,
            value_labels("rental_pledge", "signer_role"),
        ],
        "filing_state": [
            dashboard["filing_state_labels"],
            lambda state: lease_views.lease_status_label(_filing(state, today), today),
        ],
    }


def _shown(source, value) -> str:
    label = source.get(value) if isinstance(source, dict) else source(value)
    return str(label)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_two_pages_call_a_value_differently(app, locale):
    values = {
        "role": "Role",
        "use": "DwellingUse",
        "occupancy": "Occupancy",
        "residence_kind": "ResidenceKind",
        "relationship": "Relationship",
        "organisation_kind": "OrganisationKind",
        "lease_status": "LeaseStatus",
        "pledge_kind": "PledgeKind",
        "signer_role": "SignerRole",
    }
    enums = {enum.__name__: enum for enum in ENUM_LABELS}
    disagreements = []
    with app.test_request_context(), force_locale(locale):
        for name, sources in _page_labels(app).items():
            members = enums[values[name]] if name in values else FILING_STATES
            for value in members:
                shown = {_shown(source, str(value)) for source in sources}
                if len(shown) != 1:
                    disagreements.append((name, str(value), sorted(shown)))
    assert disagreements == []


# -- no second table anywhere ---------------------------------------------------------------

GETTEXT_CALLS = {"_", "_l", "gettext", "lazy_gettext"}


def _enum_of_key(key: ast.expr, enums: dict[str, set[str]]) -> set[str]:
    """The enums (by name) that a dict key could be a value of."""
    if isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name):
        return {key.value.id} if key.value.id in enums else set()
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return {name for name, values in enums.items() if key.value in values}
    return set()


def _label_tables(tree: ast.AST, enums: dict[str, set[str]]) -> list[tuple[int, str]]:
    """Dict literals mapping two or more values of one enum to translated messages."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict) or len(node.keys) < 2 or None in node.keys:
            continue
        translated = all(
            isinstance(v, ast.Call) and getattr(v.func, "id", None) in GETTEXT_CALLS
            for v in node.values
        )
        common = set.intersection(*(_enum_of_key(key, enums) for key in node.keys))
        if translated and common:
            found.append((node.lineno, sorted(common)[0]))
    return found


def test_label_tables_live_only_in_registry_labels():
    enums = {enum.__name__: {str(member) for member in enum} for enum in ENUM_LABELS}
    enums["FilingState"] = set(FILING_STATES)
    allowed = {
        "registry/labels.py": set(enums),
        # The document types keep their names beside their checks; labels.py takes them.
        "registry/validators.py": {"DocumentType"},
    }
    elsewhere = []
    for path in sorted((PROJECT_ROOT / "registry").rglob("*.py")):
        relative = str(path.relative_to(PROJECT_ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, enum in _label_tables(tree, enums):
            if enum not in allowed.get(relative, set()):
                elsewhere.append(f"{relative}:{line} ({enum})")
    assert elsewhere == []
