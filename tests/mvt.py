"""A Mapbox vector tile read back into plain Python, for tests of the map's tiles.

No MVT library is installed, and the format is small: a tile is a protobuf message of
layers, each with its features, a table of keys and a table of values; a feature's tags
are (key index, value index) pairs (vector-tile-spec 2.1). This reads exactly that, with
the protobuf wire format written out, so a test can see each feature's properties.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


@dataclass
class Feature:
    id: int | None
    type: int  # 1 point, 2 line, 3 polygon
    properties: dict = field(default_factory=dict)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) of a message: ints, or bytes for LENGTH."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, at = _varint(data, at)
        elif wire == LENGTH:
            size, at = _varint(data, at)
            value, at = data[at : at + size], at + size
        elif wire == FIXED64:
            value, at = data[at : at + 8], at + 8
        elif wire == FIXED32:
            value, at = data[at : at + 4], at + 4
        else:
            raise ValueError(f"wire type {wire} is not in a vector tile")
        yield number, wire, value


def _packed(data: bytes) -> list[int]:
    values, at = [], 0
    while at < len(data):
        value, at = _varint(data, at)
        values.append(value)
    return values


def _value(data: bytes):
    for number, _wire, value in _fields(data):
        if number == 1:
            return value.decode("utf-8")
        if number == 2:
            return struct.unpack("<f", value)[0]
        if number == 3:
            return struct.unpack("<d", value)[0]
        if number in (4, 5):
            return value if number == 5 or value < 2**63 else value - 2**64
        if number == 6:
            return (value >> 1) ^ -(value & 1)
        if number == 7:
            return bool(value)
    return None


def decode(tile: bytes) -> dict[str, list[Feature]]:
    """The features of each layer of ``tile`` by layer name (an empty tile: no layers)."""
    layers: dict[str, list[Feature]] = {}
    for number, _wire, layer in _fields(tile):
        if number != 3:
            continue
        name, keys, values, raw_features = "", [], [], []
        for part, _w, value in _fields(layer):
            if part == 1:
                name = value.decode("utf-8")
            elif part == 2:
                raw_features.append(value)
            elif part == 3:
                keys.append(value.decode("utf-8"))
            elif part == 4:
                values.append(_value(value))
        features = []
        for raw in raw_features:
            feature = Feature(id=None, type=0)
            for part, _w, value in _fields(raw):
                if part == 1:
                    feature.id = value
                elif part == 2:
                    tags = _packed(value)
                    for k, v in zip(tags[::2], tags[1::2], strict=True):
                        feature.properties[keys[k]] = values[v]
                elif part == 3:
                    feature.type = value
            features.append(feature)
        layers[name] = features
    return layers
