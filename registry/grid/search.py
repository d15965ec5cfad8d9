"""The grid worker's one search box: each kind of query goes only where it belongs.

A document number is personal data of the most sensitive kind: it is looked up through
its blind index and nowhere else, so it never reaches the address or organisation
queries, whose parameters psycopg2 writes into the SQL text (pg_stat_activity, error
logs). A phone number only matches phones; door numbers and roads only match places.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.address.door import parse_door_query
from registry.address.models import Address
from registry.address.services import search_addresses
from registry.organisation.models import Organisation
from registry.organisation.services import search_organisations
from registry.person.identity import IdentityCipher
from registry.person.models import Person
from registry.person.residences import search_people
from registry.scope import all_in_scope
from registry.validators import FieldError, QueryKind, SearchQuery, validate_credit_code


@dataclass(frozen=True)
class CellSearch:
    """What one search found in the worker's cells."""

    query: SearchQuery
    addresses: tuple[list[Address], bool] = ([], False)
    people: tuple[list[Person], bool] = ([], False)
    organisations: tuple[list[Organisation], bool] = ([], False)

    @property
    def nothing(self) -> bool:
        return not (self.addresses[0] or self.people[0] or self.organisations[0])


def named_room(query: SearchQuery, found: CellSearch) -> Address | None:
    """The one room a door-number search names ("26-1-601", "26栋1单元601室"), if so.

    Only when exactly one address matched, it is a room, and the query typed its number:
    the worker at the door is taken straight to it.
    """
    addresses, more = found.addresses
    parsed = parse_door_query(query.text)
    if parsed is None or more or len(addresses) != 1 or found.people[0] or found.organisations[0]:
        return None
    (address,) = addresses
    room = (address.room or "").upper()
    if room and any(number.value == room for number in parsed.numbers):
        return address
    return None


def search_cells(
    session: Session, actor: UserAccount, cipher: IdentityCipher, query: SearchQuery
) -> CellSearch:
    """Addresses, people and organisations in scope for ``query``, by what it was taken for."""
    kind = query.kind
    if kind in (QueryKind.DOCUMENT, QueryKind.PHONE):
        return CellSearch(query, people=search_people(session, actor, cipher, query))
    if kind is QueryKind.NUMBER:
        # Part of a phone number or a mistyped document number: searched nowhere, except as
        # the credit code of an organisation, which is not personal data.
        try:
            code = validate_credit_code(query.text)
        except FieldError:
            return CellSearch(query)
        return CellSearch(query, organisations=search_organisations(session, actor, code))
    addresses = search_addresses(session, actor, query.text)
    if kind is QueryKind.DOOR:
        return CellSearch(query, addresses=addresses)
    organisations = search_organisations(session, actor, query.text)
    if kind is QueryKind.PLACE:
        return CellSearch(query, addresses=addresses, organisations=organisations)
    people = search_people(session, actor, cipher, query)
    return CellSearch(query, addresses=addresses, people=people, organisations=organisations)


# -- a personal search's results, kept under a token (registry/searches) -------------------

KEPT_SCOPE = "gridwork"


def found_ids(found: CellSearch) -> dict:
    """What is kept of a search: the ids found, whether more matched, the kind of query and
    the masked document numbers searched for. Never the query's text."""
    return {
        "kind": str(found.query.kind),
        "addresses": [[a.id for a in found.addresses[0]], found.addresses[1]],
        "people": [[p.id for p in found.people[0]], found.people[1]],
        "organisations": [[o.id for o in found.organisations[0]], found.organisations[1]],
    }


def reload_found(session: Session, actor: UserAccount, kept: dict) -> CellSearch:
    """The kept search's records, read again in the actor's scope."""

    def records(model, key):
        ids, more = kept[key]
        return all_in_scope(session, actor, model, ids), more

    return CellSearch(
        SearchQuery("", QueryKind(kept["kind"])),
        addresses=records(Address, "addresses"),
        people=records(Person, "people"),
        organisations=records(Organisation, "organisations"),
    )
