"""Every model, imported once so that metadata, Alembic and relationships see them all."""

from registry.accounts.models import LoginFailure, Role, UserAccount
from registry.address.models import Address, Road
from registry.area.models import Community, District, PoliceStation, SubDistrict
from registry.audit.models import AuditEntry
from registry.db import Base
from registry.dwelling.models import Dwelling, DwellingUse, Occupancy
from registry.figures.models import CellFigures, FiguresRun
from registry.flags.models import Flag, FlagEvent, RuleVersion, Tip, VisitReport
from registry.grid.models import FocusArea, GridCell
from registry.lease.models import (
    FilingRequest,
    LeaseFiling,
    LeaseStatus,
    LeaseTenant,
    PledgeDocument,
    PledgeKind,
    RentalPledge,
    SecurityGuarantee,
    SignerRole,
)
from registry.organisation.models import Organisation, OrganisationKind
from registry.person.models import Person, Relationship, Residence, ResidenceKind
from registry.searches.models import KeptSearch
from registry.setting.models import RegistrySetting
from registry.sweeps.models import (
    Sweep,
    SweepDay,
    SweepSettings,
    SweepStop,
    SweepTeam,
    SweepTeamMember,
    SweepVisit,
    VisitPhoto,
)

__all__ = [
    "Address",
    "AuditEntry",
    "Base",
    "CellFigures",
    "Community",
    "District",
    "Dwelling",
    "DwellingUse",
    "FiguresRun",
    "FilingRequest",
    "Flag",
    "FlagEvent",
    "FocusArea",
    "GridCell",
    "KeptSearch",
    "LeaseFiling",
    "LeaseStatus",
    "LeaseTenant",
    "LoginFailure",
    "Occupancy",
    "Organisation",
    "OrganisationKind",
    "Person",
    "PledgeDocument",
    "PledgeKind",
    "PoliceStation",
    "RegistrySetting",
    "Relationship",
    "RentalPledge",
    "Residence",
    "ResidenceKind",
    "Road",
    "Role",
    "RuleVersion",
    "SecurityGuarantee",
    "SignerRole",
    "SubDistrict",
    "Sweep",
    "SweepDay",
    "SweepSettings",
    "SweepStop",
    "SweepTeam",
    "SweepTeamMember",
    "SweepVisit",
    "Tip",
    "UserAccount",
    "VisitPhoto",
    "VisitReport",
]
