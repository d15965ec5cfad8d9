"""What the officer's desk calls things: records, audit fields, actions and their values.

Keys are the values as stored (and as the audit log writes them), so the same table
serves a model's attribute and an entry's ``changes``. The names of enum values come from
registry.labels, the one table per enum that every page uses.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from registry.labels import (
    DOCUMENT_TYPE_LABELS,
    LEASE_STATUS_LABELS,
    OCCUPANCY_LABELS,
    ORGANISATION_KIND_LABELS,
    RELATIONSHIP_LABELS,
    RESIDENCE_KIND_LABELS,
    ROLE_LABELS,
    SIGNER_ROLE_LABELS,
    USE_LABELS,
)

# Where a list showed a person (registry.person.residences.record_list_views).
VIEW_CONTEXT_LABELS = {
    "search": _l("Search results"),
    "dwelling": _l("Occupants of a dwelling"),
    "owner": _l("Owner of a dwelling"),
    "correction": _l("Correction form"),
    "trail": _l("Audit trail"),
}
# Why a reveal was refused (registry.person.services.REVEAL_REFUSALS).
REVEAL_REFUSAL_LABELS = {
    "role": _l("This role may not reveal ID numbers"),
    "reason": _l("No reason given"),
    "scope": _l("Person outside the user's scope"),
}
# The password is never logged, only that it was set or reset.
PASSWORD_LABELS = {
    "set": _l("Set"),
    "reset": _l("Reset"),
}
YES_NO_LABELS = {True: _l("Yes"), False: _l("No")}

# Records by URL name and by the object_type their audit entries are written under.
RECORD_LABELS = {
    "person": _l("Person"),
    "dwelling": _l("Dwelling"),
    "address": _l("Address"),
    "organisation": _l("Organisation"),
    "lease": _l("Lease filing"),
    "lease_filing": _l("Lease filing"),
    "lease_tenant": _l("Tenant"),
    "rental_pledge": _l("Rental pledge"),
    "security_guarantee": _l("Security guarantee"),
    "residence": _l("Residence"),
}
ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "view": _l("Viewed"),
    "reveal": _l("Full ID number revealed"),
    "reveal_refused": _l("Reveal of the full ID number refused"),
    "login": _l("Logged in"),
    "export": _l("Exported"),
}

# Every field any service writes into an audit entry's ``changes``.
FIELD_LABELS = {
    # people and residences (registry.person)
    "name": _l("Name"),
    "document": _l("ID number"),
    "document_type": _l("Document type"),
    "phone": _l("Phone"),
    "birth_date": _l("Birth date"),
    "person_id": _l("Person"),
    "dwelling_id": _l("Dwelling"),
    "moved_in": _l("Moved in"),
    "moved_out": _l("Moved out"),
    "kind": _l("Kind"),
    "relationship": _l("Relationship"),
    "context": _l("Shown in"),
    "refused": _l("Refused because"),
    # addresses
    "code": _l("Code"),
    "full_text": _l("Address"),
    "road_id": _l("Road or lane"),
    "door_number": _l("Door number"),
    "building": _l("Building"),
    "entrance": _l("Entrance"),
    "floor": _l("Floor"),
    "room": _l("Room"),
    "lon": _l("Longitude"),
    "lat": _l("Latitude"),
    # dwellings
    "address_id": _l("Address"),
    "use": _l("Use"),
    "floor_area": _l("Floor area (m²)"),
    "rooms": _l("Rooms"),
    "occupancy": _l("Occupancy"),
    "owner_person_id": _l("Owner"),
    "owner_organisation_id": _l("Owner (organisation)"),
    # organisations
    "credit_code": _l("Unified social credit code"),
    "address_code": _l("Address code"),
    "legal_representative": _l("Legal representative"),
    "employee_count": _l("Employees"),
    # lease filings, tenants and pledges
    "filing_number": _l("Filing number"),
    "landlord_person_id": _l("Landlord"),
    "starts_on": _l("Term starts on"),
    "ends_on": _l("Term ends on"),
    "monthly_rent": _l("Monthly rent (yuan)"),
    "renews": _l("Renews filing"),
    "status": _l("Status"),
    "ended_on": _l("Ended on"),
    "lease_filing_id": _l("Lease filing"),
    "added_on": _l("On the lease since"),
    "removed_on": _l("Removed from the lease on"),
    "pledge_document": _l("Pledge text"),
    "signer_person_id": _l("Who signs"),
    "signer_role": _l("Signed as"),
    "signed_at": _l("Signed at"),
    "signature_sha256": _l("Signature fingerprint (SHA-256)"),
    # accounts, stations, grid cells, focus areas, capacity rules (registry.admin, .grid)
    "username": _l("Username"),
    "display_name": _l("Display name"),
    "role": _l("Role"),
    "active": _l("Active"),
    "police_station_id": _l("Police station"),
    "grid_cell_ids": _l("Grid cells"),
    "dwelling_ids": _l("Managed dwellings"),
    "password": _l("Password"),
    "last_login_at": _l("Last log-in"),
    "client_address": _l("IP address"),
    "district_id": _l("District"),
    "community_ids": _l("Communities in its jurisdiction"),
    "community_id": _l("Community"),
    "geometry": _l("Boundary"),
    "addresses_joined": _l("Addresses that joined"),
    "addresses_left": _l("Addresses that left"),
    "workers": _l("Grid workers"),
    "description": _l("Description"),
    "cell_ids": _l("Grid cells"),
    "min_floor_area_per_person": _l("Minimum floor area per person (m²)"),
    "max_people_per_room": _l("Maximum people per room"),
    "valid_from": _l("Valid from"),
    "note": _l("Note"),
}
# Where one record type calls a field something more precise.
RECORD_FIELD_LABELS = {
    ("person", "name"): _l("Full name"),
    ("address", "code"): _l("Address code"),
    ("residence", "kind"): _l("Population type"),
    ("lease_tenant", "person_id"): _l("Tenant"),
}

# The translated values of the enum fields of audit entries.
VALUE_LABELS = {
    "occupancy": OCCUPANCY_LABELS,
    "use": USE_LABELS,
    "relationship": RELATIONSHIP_LABELS,
    "document_type": DOCUMENT_TYPE_LABELS,
    "status": LEASE_STATUS_LABELS,
    "signer_role": SIGNER_ROLE_LABELS,
    "role": ROLE_LABELS,
    "context": VIEW_CONTEXT_LABELS,
    "refused": REVEAL_REFUSAL_LABELS,
    "password": PASSWORD_LABELS,
}
RECORD_VALUE_LABELS = {
    ("residence", "kind"): RESIDENCE_KIND_LABELS,
    ("organisation", "kind"): ORGANISATION_KIND_LABELS,
}


def field_label(object_type: str, name: str):
    """The field's name in the user's language (the stored name if it has none)."""
    return RECORD_FIELD_LABELS.get((object_type, name)) or FIELD_LABELS.get(name, name)


def value_labels(object_type: str, name: str) -> dict | None:
    """The labels of an enum field's values, or None if the field is not an enum."""
    return RECORD_VALUE_LABELS.get((object_type, name)) or VALUE_LABELS.get(name)
