"""One team-day of a sweep on the map: its buildings in walking order, each with its stops
and whether they are done, and the day's route from the start point through them.

Read only, from what planning stored (the days, the stops' positions, the start point):
the map draws the order the checklist lists, whoever computed it. The stops are exactly
those the checklist shows the actor (``services.stop_rows``, in the actor's scope), so the
route joins only buildings the actor may see, and a day without one is "not found".

The data is small on purpose: one day (at most the sweep's cap of stops), never a district.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.address.models import Address
from registry.errors import NotFound
from registry.sweeps import services
from registry.sweeps.models import Sweep
from registry.sweeps.services import StopRow


class DoneState(enum.StrEnum):
    """How far a building's stops of the day are walked: the marker's look."""

    TO_DO = "todo"
    PARTLY = "partly"
    DONE = "done"


@dataclass
class MapBuilding:
    """A building of the day: where it is and its stops there, in walking order."""

    address_id: int
    lon: float
    lat: float
    title: str  # the building's address
    rows: list[StopRow]

    @property
    def positions(self) -> list[int]:
        return [row.stop.position for row in self.rows]

    @property
    def label(self) -> str:
        """The stops' positions in the day, as the checklist numbers them: 3, 3–5 or 3, 7."""
        positions = self.positions
        first, last = positions[0], positions[-1]
        if len(positions) == 1:
            return str(first)
        if last - first + 1 == len(positions):
            return f"{first}–{last}"
        return ", ".join(str(p) for p in positions)

    @property
    def done(self) -> int:
        return sum(1 for row in self.rows if row.visit is not None)

    @property
    def state(self) -> DoneState:
        if self.done == len(self.rows):
            return DoneState.DONE
        return DoneState.PARTLY if self.done else DoneState.TO_DO

    def place_of(self, row: StopRow) -> str:
        """A stop's place inside the building (its room), or "" for the whole building."""
        text = row.address.full_text
        if row.address.id == self.address_id:
            return ""
        return text[len(self.title) :].strip() if text.startswith(self.title) else text


@dataclass
class DayMap:
    """What a team-day's map shows."""

    sweep: Sweep
    day: int
    start: tuple[float, float]  # (lon, lat)
    buildings: list[MapBuilding]

    @property
    def stops(self) -> int:
        return sum(len(b.rows) for b in self.buildings)

    @property
    def done(self) -> int:
        return sum(b.done for b in self.buildings)

    @property
    def route(self) -> list[tuple[float, float]]:
        """The open path the team walks: the start, then each building in order."""
        return [self.start] + [(b.lon, b.lat) for b in self.buildings]

    @property
    def next_building(self) -> int | None:
        """The first building with a stop left: where the walk goes on."""
        for building in self.buildings:
            if building.state != DoneState.DONE:
                return building.address_id
        return None

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((south, west), (north, east)) around the route, for the map's first view."""
        lons = [lon for lon, _lat in self.route]
        lats = [lat for _lon, lat in self.route]
        return (min(lats), min(lons)), (max(lats), max(lons))


def day_map(session: Session, actor: UserAccount, sweep_id: int, day: int, today: date) -> DayMap:
    """The actor's stops of one team-day by building, in walking order.

    "Not found" for a sweep the actor may not see, and for a day with none of their stops
    (as for one that does not exist).
    """
    sweep = services.get_sweep(session, actor, sweep_id)
    rows = services.stop_rows(session, actor, sweep, today, day=day)
    if not rows:
        raise NotFound()
    grouped: dict[int, list[StopRow]] = {}
    for row in rows:  # already in walking order; a building's stops stay together
        grouped.setdefault(row.stop.building_address_id, []).append(row)
    points = _building_points(session, list(grouped))
    start = session.execute(
        select(func.ST_X(Sweep.start_geom), func.ST_Y(Sweep.start_geom)).where(Sweep.id == sweep.id)
    ).one()
    buildings = [
        MapBuilding(address_id, *points[address_id], rows=stops)
        for address_id, stops in grouped.items()
    ]
    return DayMap(sweep, day, (start[0], start[1]), buildings)


def _building_points(session: Session, address_ids: list[int]) -> dict[int, tuple]:
    """(lon, lat, address text) of each building, in one statement."""
    found = session.execute(
        select(
            Address.id, func.ST_X(Address.geom), func.ST_Y(Address.geom), Address.full_text
        ).where(Address.id.in_(address_ids))
    ).all()
    return {address_id: (lon, lat, text) for address_id, lon, lat, text in found}


def geojson(
    found: DayMap,
    popup: Callable[[MapBuilding], str],
    start_popup: str,
) -> dict[str, Any]:
    """The day as a GeoJSON FeatureCollection: the route (a line), the start and each
    building (points, in walking order).

    ``popup`` renders a building's stops as an HTML fragment: the server escapes every
    user string there, and the browser inserts the fragment as parsed nodes. The other
    properties are numbers and fixed words only.
    """
    route = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [list(p) for p in found.route]},
        "properties": {"kind": "route"},
    }
    start = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(found.start)},
        "properties": {
            "kind": "start",
            "popup": start_popup,
        },
    }
    following = found.next_building
    buildings = [
        {
            "type": "Feature",
            "id": building.address_id,
            "geometry": {"type": "Point", "coordinates": [building.lon, building.lat]},
            "properties": {
                "kind": "building",
                "order": order,
                "label": building.label,
                "state": str(building.state),
                "stops": len(building.rows),
                "done": building.done,
                "next": building.address_id == following,
                "popup": popup(building),
            },
        }
        for order, building in enumerate(found.buildings, start=1)
    ]
    return {
        "type": "FeatureCollection",
        "features": [route, start, *buildings],
        "day": found.day,
        "stops": found.stops,
        "done": found.done,
    }
