"""What the registry calls each stored value: one label per value, in one place.

Forms, pages, the officers' look-up, the audit trail and the exports all take the names of
enum values from these tables, so a value is never 「其他」 on one page and 「其他用途」 on the
next. Keys are the enum members, which are also their stored strings (StrEnum), so a table
answers for a model's attribute and for a value read back from an audit entry alike.
``tests/test_labels.py`` checks that every value has its label here and that no other
module keeps a table of its own.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from registry.accounts.models import Role
from registry.dwelling.models import DwellingUse, Occupancy
from registry.flags.models import FlagEventKind, FlagState, TipKind, TipSource, VisitFinding
from registry.lease.models import LeaseStatus, PledgeKind, SignerRole
from registry.organisation.models import OrganisationKind
from registry.person.models import Relationship, ResidenceKind
from registry.sweeps.models import MemberFunction, Outcome
from registry.validators import DocumentType

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.POLICE_OFFICER: _l("Police officer"),
    Role.GRID_WORKER: _l("Grid worker"),
    Role.PROPERTY_MANAGER: _l("Property manager / landlord"),
    Role.SWEEP_TEAM_MEMBER: _l("Sweep team member"),
}
USE_LABELS = {
    DwellingUse.RESIDENTIAL: _l("Residential"),
    DwellingUse.COMMERCIAL: _l("Commercial"),
    DwellingUse.MIXED: _l("Mixed use"),
}
OCCUPANCY_LABELS = {
    Occupancy.OWNER_OCCUPIED: _l("Owner-occupied"),
    Occupancy.RENTED: _l("Rented"),
    Occupancy.VACANT: _l("Vacant"),
    Occupancy.OTHER: _l("Other"),
}
RESIDENCE_KIND_LABELS = {
    ResidenceKind.REGISTERED: _l("Registered resident"),
    ResidenceKind.TRANSIENT: _l("Transient resident"),
}
RELATIONSHIP_LABELS = {
    Relationship.OWNER: _l("Owner"),
    Relationship.OWNER_FAMILY: _l("Owner's family"),
    Relationship.TENANT: _l("Tenant"),
    Relationship.TENANT_FAMILY: _l("Tenant's family"),
    Relationship.EMPLOYEE: _l("Employee"),
    Relationship.OTHER: _l("Other"),
}
ORGANISATION_KIND_LABELS = {
    OrganisationKind.COMPANY: _l("Company"),
    OrganisationKind.INDIVIDUAL_BUSINESS: _l("Individual business"),
    OrganisationKind.SHOP: _l("Shop"),
    OrganisationKind.SCHOOL: _l("School"),
    OrganisationKind.CLINIC: _l("Clinic"),
    OrganisationKind.GOVERNMENT: _l("Government body"),
    OrganisationKind.SOCIAL_ORGANISATION: _l("Social organisation"),
    OrganisationKind.OTHER: _l("Other"),
}
# The document types name themselves (registry.validators keeps them beside the checks).
DOCUMENT_TYPE_LABELS = {kind: kind.label for kind in DocumentType}
LEASE_STATUS_LABELS = {
    LeaseStatus.FILED: _l("Filed"),
    LeaseStatus.ENDED_EARLY: _l("Ended early"),
    LeaseStatus.CANCELLED: _l("Cancelled"),
}
PLEDGE_KIND_LABELS = {
    PledgeKind.RENTAL_PLEDGE: _l("Rental pledge"),
    PledgeKind.SECURITY_GUARANTEE: _l("Security guarantee"),
}
SIGNER_ROLE_LABELS = {
    SignerRole.LANDLORD: _l("Landlord"),
    SignerRole.TENANT: _l("Tenant"),
}
# Where a filing stands on a day: computed from its term and status, never stored.
FILING_STATE_LABELS = {
    "current": _l("Current"),
    "future": _l("Not yet begun"),
    "expired": _l("Expired"),
    "ended_early": _l("Ended early"),
    "cancelled": _l("Cancelled"),
}

OUTCOME_LABELS = {
    Outcome.NO_ONE_HOME: _l("No one home"),
    Outcome.IN_ORDER: _l("In order"),
    Outcome.RECORD_CORRECTED: _l("Record corrected"),
    Outcome.UNREGISTERED_OCCUPANTS: _l("Unregistered occupants found"),
    Outcome.GROUP_RENTING: _l("Signs of group renting seen"),
    Outcome.REFERRED_TO_POLICE: _l("Referred to police"),
}
MEMBER_FUNCTION_LABELS = {
    MemberFunction.POLICE: _l("Police officer"),
    MemberFunction.MARKET_REGULATION: _l("Market regulation officer"),
    MemberFunction.HOUSING: _l("Housing officer"),
    MemberFunction.COMMUNITY: _l("Community (grid worker)"),
}

FLAG_STATE_LABELS = {
    # "Open" alone is also a button (打开): the state has a context of its own (待处理).
    FlagState.OPEN: lazy_pgettext("flag state", "Open"),
    FlagState.IN_REVIEW: _l("In review"),
    FlagState.CONFIRMED: _l("Confirmed"),
    FlagState.DISMISSED: _l("Dismissed"),
    FlagState.RESOLVED: _l("Resolved"),
}
# What the button of each step says.
FLAG_STEP_LABELS = {
    FlagState.IN_REVIEW: _l("Take it up"),
    FlagState.CONFIRMED: _l("Confirm"),
    FlagState.DISMISSED: _l("Dismiss"),
    FlagState.RESOLVED: _l("Resolve"),
}
FLAG_EVENT_LABELS = {
    FlagEventKind.RAISED: _l("Raised by the rule"),
    FlagEventKind.FACTS_UPDATED: _l("Facts updated"),
    FlagEventKind.DECIDED: _l("Decided"),
    FlagEventKind.NO_LONGER_HOLDS: _l("Resolved by the system: the facts no longer hold"),
    FlagEventKind.RULE_OFF: _l("Withdrawn: the rule was switched off"),
}
FLAG_STATE_FILTER_LABELS = {
    "to_decide": _l("To decide (open or in review)"),
    "live": _l("Live (open, in review or confirmed)"),
    **{str(state): label for state, label in FLAG_STATE_LABELS.items()},
    "all": _l("All"),
}
TIP_KIND_LABELS = {TipKind.TIP: _l("Tip"), TipKind.COMPLAINT: _l("Complaint")}
TIP_SOURCE_LABELS = {
    TipSource.HOTLINE: _l("Hotline call"),
    TipSource.WALK_IN: _l("In person at the office"),
    TipSource.LETTER: _l("Letter"),
    TipSource.ONLINE: _l("Online"),
    TipSource.DOOR_TO_DOOR: _l("Heard on a door-to-door visit"),
    TipSource.OTHER: _l("Other"),
}
FINDING_LABELS = {
    VisitFinding.UNREGISTERED_OCCUPANTS: _l("Unregistered occupants"),
    VisitFinding.GROUP_RENTING_SIGNS: _l("Signs of group renting"),
}


# Each enum with its table, for the checks and for whoever needs "the label of any value".
ENUM_LABELS = {
    Role: ROLE_LABELS,
    DwellingUse: USE_LABELS,
    Occupancy: OCCUPANCY_LABELS,
    ResidenceKind: RESIDENCE_KIND_LABELS,
    Relationship: RELATIONSHIP_LABELS,
    OrganisationKind: ORGANISATION_KIND_LABELS,
    DocumentType: DOCUMENT_TYPE_LABELS,
    LeaseStatus: LEASE_STATUS_LABELS,
    PledgeKind: PLEDGE_KIND_LABELS,
    SignerRole: SIGNER_ROLE_LABELS,
    Outcome: OUTCOME_LABELS,
    MemberFunction: MEMBER_FUNCTION_LABELS,
    FlagState: FLAG_STATE_LABELS,
    FlagEventKind: FLAG_EVENT_LABELS,
    TipKind: TIP_KIND_LABELS,
    TipSource: TIP_SOURCE_LABELS,
    VisitFinding: FINDING_LABELS,
}


def label_of(table: dict, value) -> str:
    """The label of ``value`` in the reader's language; the value itself if it has none."""
    label = table.get(value if value is None else str(value))
    return str(label) if label is not None else str(value)
