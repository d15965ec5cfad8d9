"""The standard-address form: the hierarchy below the community, and the point."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from registry.address.services import AddressInput
from registry.grid.forms import Choice

LABELS = {
    "road_id": _l("Road or lane"),
    "door_number": _l("Door number"),
    "building": _l("Building"),
    "entrance": _l("Entrance"),
    "floor": _l("Floor"),
    "room": _l("Room"),
    "lon": _l("Longitude"),
    "lat": _l("Latitude"),
}


class AddressForm(FlaskForm):
    road_id = Choice(LABELS["road_id"])
    door_number = StringField(LABELS["door_number"])
    building = StringField(LABELS["building"])
    entrance = StringField(LABELS["entrance"])
    floor = StringField(LABELS["floor"])
    room = StringField(LABELS["room"])
    lon = StringField(LABELS["lon"])
    lat = StringField(LABELS["lat"])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.location_errors: list = []  # the point as a whole: shown under the map

    def set_roads(self, roads) -> None:
        self.road_id.set_options(
            [("", _l("Choose a road"))] + [(str(road.id), road.name) for road in roads]
        )

    def to_input(self) -> AddressInput:
        return AddressInput(
            road_id=self.road_id.data,
            door_number=self.door_number.data,
            building=self.building.data,
            entrance=self.entrance.data,
            floor=self.floor.data,
            room=self.room.data,
            lon=self.lon.data,
            lat=self.lat.data,
        )
