"""The grid map, built with folium and rendered into the app's own page.

Pure map building: no database, no Flask. The caller (registry/map/views.py) says what the
map shows in a :class:`MapSpec` (where, which layers from which URLs, the measures, the
translated texts) and gets back the three parts of folium's page: what goes into ``<head>``
(links to the app's own copies of Leaflet and its plugins, nothing else), the map's
``<div>``, and the script that builds the map, which the page emits with a nonce.

Folium's defaults are not used: its standalone document has no ``lang`` and forbids zooming
the page, and its default page loads eleven outside URLs (Bootstrap, jQuery, Font Awesome
and more) that an office network without internet cannot reach. The map carries no records:
cells, boundaries and roads are fetched as GeoJSON, buildings and organisations as vector
tiles, all from the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import folium
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import VectorGridProtobuf
from folium.template import Template
from folium.utilities import JsCode
from markupsafe import escape

LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
VECTORGRID_JS = "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"
MAP_JS = ("js/gcj02.js", "js/map.js")
MAP_CSS = "css/map.css"
SWEEP_JS = "js/sweep_map.js"
SWEEP_CSS = "css/sweep_map.css"

# Below this zoom the map shows cells only; from it, each building is a marker.
BUILDING_MIN_ZOOM = 16
MAX_ZOOM = 19
TILE_EXTENT = 4096
TILE_BUFFER = 64


@dataclass(frozen=True)
class BaseTiles:
    """A configured basemap: its URL template, attribution and datum (wgs84 or gcj02)."""

    url: str
    attribution: str
    datum: str = "wgs84"


@dataclass(frozen=True)
class Overlay:
    """One layer in the layer control.

    ``kind``: ``cells`` (the coloured grid cells), ``outline`` (boundaries), ``roads``
    (lines with their names), ``tiles`` (points from vector tiles, from
    :data:`BUILDING_MIN_ZOOM`), or ``flags`` (no data of its own: it shows or hides the
    rings that the buildings' tiles draw around flagged buildings). ``url`` is where its
    data comes from.
    """

    key: str
    label: str
    kind: str
    url: str
    show: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # for the layer's script


@dataclass(frozen=True)
class MapSpec:
    """Everything the map shows and where from; ``asset`` turns a static file into a URL."""

    asset: Callable[[str], str]
    overlays: list[Overlay]
    config: dict[str, Any]
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = (
        None  # (south, west), (north, east)
    )
    center: tuple[float, float] | None = None  # (lat, lon) from the URL
    zoom: int | None = None
    base_tiles: BaseTiles | None = None
    collapsed_layers: bool = False
    fit_padding: int = 12  # pixels kept free around ``bounds`` (room for markers drawn there)
    layer_control: bool = True  # a map of one layer has nothing to switch


@dataclass(frozen=True)
class MapParts:
    """folium's page, in three parts for the app's own template."""

    head: str
    body: str
    script: str
    map_name: str = ""
    layer_names: dict[str, str] = field(default_factory=dict)


class RegistryMap(folium.Map):
    """folium's Map without its document-level extras.

    No viewport meta (the app's own allows zooming), no inline styles (css/map.css sizes
    the map), no inline global switches; the view is set when the map is made, because
    tile layers need a centre before they are added.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}{% endmacro %}
        {% macro html(this, kwargs) -%}
            <div class="registry-map" id={{ this.get_name()|tojson }}></div>
        {%- endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }}, {{ this.options|tojavascript }});
            registryMap.start({{ this.get_name() }}, {{ this.config|tojavascript }});
            {%- if this.fit_bounds %}
            {{ this.get_name() }}.fitBounds({{ this.fit_bounds|tojson }},
                {padding: {{ [this.fit_padding, this.fit_padding]|tojson }}});
            {%- else %}
            {{ this.get_name() }}.setView({{ this.location|tojson }}, {{ this.zoom_start|tojson }});
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, spec: MapSpec):
        center = spec.center or (0.0, 0.0)
        super().__init__(
            location=center,
            tiles=None,
            zoom_start=spec.zoom or 13,
            max_zoom=MAX_ZOOM,
            control_scale=False,
            zoom_control=True,
        )
        self.zoom_start = spec.zoom or 13
        self.fit_bounds = spec.bounds if spec.center is None or spec.zoom is None else None
        self.fit_padding = spec.fit_padding
        self.options.pop("zoom", None)
        self.options["maxZoom"] = MAX_ZOOM
        self.config = spec.config
        self.default_js = [("leaflet", spec.asset(LEAFLET_JS))] + [
            (name, spec.asset(name)) for name in MAP_JS
        ]
        self.default_css = [
            ("leaflet_css", spec.asset(LEAFLET_CSS)),
            ("map_css", spec.asset(MAP_CSS)),
        ]


class RemoteLayer(Layer):
    """A layer whose data the browser fetches from the app (registryMap in js/map.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = registryMap.{{ this.factory }}(
                {{ this.options|tojavascript }});
        {% endmacro %}
        """
    )

    def __init__(self, overlay: Overlay, factory: str, **options):
        super().__init__(name=str(escape(overlay.label)), overlay=True, show=overlay.show)
        self._name = "RemoteLayer"
        self.factory = factory
        self.options = {"url": overlay.url, "key": overlay.key, **options}


class SweepDayLayer(JSCSSMixin, RemoteLayer):
    """A sweep team-day (``registryMap.sweepDayLayer``), with its own script and styles:
    only the pages that show a sweep load them."""

    def __init__(self, overlay: Overlay, asset: Callable[[str], str], **options):
        super().__init__(overlay, "sweepDayLayer", **options)
        self.default_js = [("sweep_map", asset(SWEEP_JS))]
        self.default_css = [("sweep_map_css", asset(SWEEP_CSS))]


class TileOverlay(VectorGridProtobuf):
    """folium's VectorGridProtobuf from the app's copy of leaflet.vectorgrid, SVG renderer.

    leaflet.vectorgrid 1.3.0's canvas renderer calls ``L.DomEvent.fakeStop`` on a click,
    which Leaflet 1.9 removed; its SVG renderer works. Points are styled by
    ``registryMap.pointStyle`` from the feature's properties (no text in the tiles).
    """

    def __init__(self, overlay: Overlay, asset: Callable[[str], str]):
        options = {
            "rendererFactory": JsCode("L.svg.tile"),
            "interactive": True,
            "pane": "registryPoints",
            # Not minZoom: Leaflet would make it the whole map's minimum zoom.
            "registryMinZoom": BUILDING_MIN_ZOOM,
            "maxZoom": MAX_ZOOM,
            "getFeatureId": JsCode("function (feature) { return feature.properties.id; }"),
            "vectorTileLayerStyles": {
                overlay.key: JsCode(f"registryMap.pointStyle({overlay.key!r})"),
            },
        }
        super().__init__(overlay.url, name=str(escape(overlay.label)), options=options)
        self.show = overlay.show
        self.default_js = [("vectorGrid", asset(VECTORGRID_JS))]


class MapControls(JSCSSMixin):
    """Wires the layers to the page: measure, legend, panel, search, URL state, location.

    The map's configuration went to ``registryMap.start`` when the map was made, before
    any layer asks for its data.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            registryMap.wire({
            {%- for key, name in this.layers.items() %}
                {{ key|tojson }}: {{ name }},
            {%- endfor %}
            });
        {% endmacro %}
        """
    )

    def __init__(self, layers: dict[str, str]):
        super().__init__()
        self._name = "MapControls"
        self.layers = layers


FACTORIES = {
    "cells": "cellsLayer",
    "outline": "outlineLayer",
    "roads": "roadsLayer",
    "flags": "flagsLayer",
}


def build_map(spec: MapSpec) -> tuple[RegistryMap, dict[str, str]]:
    """The folium map of ``spec`` and the JavaScript names of its overlays by key."""
    fmap = RegistryMap(spec)
    names: dict[str, str] = {}
    if spec.base_tiles is not None:
        folium.TileLayer(
            tiles=spec.base_tiles.url,
            attr=str(escape(spec.base_tiles.attribution)),
            name=str(escape(spec.config.get("texts", {}).get("basemap", "Basemap"))),
            max_zoom=MAX_ZOOM,
            overlay=False,
            control=False,
        ).add_to(fmap)
    for overlay in spec.overlays:
        if overlay.kind == "tiles":
            layer = TileOverlay(overlay, spec.asset)
        elif overlay.kind == "sweep_day":  # a sweep team-day's stops and route
            layer = SweepDayLayer(overlay, spec.asset, **overlay.options)
        else:
            layer = RemoteLayer(overlay, FACTORIES[overlay.kind])
        layer.add_to(fmap)
        names[overlay.key] = layer.get_name()
    if spec.layer_control:
        folium.LayerControl(collapsed=spec.collapsed_layers, position="topright").add_to(fmap)
    MapControls(names).add_to(fmap)
    return fmap, names


def render_parts(fmap: RegistryMap, names: dict[str, str]) -> MapParts:
    """Render the map and split folium's figure into head, body and script."""
    figure = fmap.get_root()
    figure.render()
    figure.header._children.pop("meta_http", None)  # the app's page declares its charset
    return MapParts(
        head=figure.header.render(),
        body=figure.html.render(),
        script=figure.script.render(),
        map_name=fmap.get_name(),
        layer_names=names,
    )
