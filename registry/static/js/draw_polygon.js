/*
 * The grid-cell map of the admin pages (Leaflet, no basemap tiles: nothing is fetched from
 * outside the server). It shows the community outline and the grid cells around it from the
 * GeoJSON embedded in <script id="cell-map-data">. With data-mode="draw" the user places
 * the corners of a polygon by tapping the map and drags them to adjust; the polygon is
 * written as GeoJSON into the hidden form field #drawn_geometry, which the server checks.
 * With data-mode="line" the user draws a line the same way (to split a cell along it),
 * written as a GeoJSON LineString into the field named by data-output.
 * The registry's own roads (with their names) and building points are drawn for context,
 * since there is no basemap.
 */
(function () {
  "use strict";

  var mapElement = document.getElementById("cell-map");
  var dataElement = document.getElementById("cell-map-data");
  if (!mapElement || !dataElement || typeof L === "undefined") {
    return;
  }
  var data = JSON.parse(dataElement.textContent);
  var mode = mapElement.getAttribute("data-mode");
  var lineMode = mode === "line";
  var drawing = mode === "draw" || lineMode;

  function textNode(text) {
    // Tooltips get text nodes, never strings: Leaflet inserts strings as HTML, and these
    // names are typed by users.
    var span = document.createElement("span");
    span.textContent = text == null ? "" : String(text);
    return span;
  }

  var map = L.map(mapElement, {
    attributionControl: false,
    zoomSnap: 0.25,
    doubleClickZoom: !drawing // a quick second tap places a corner, it does not zoom
  });

  var editUrl = mapElement.getAttribute("data-edit-url");

  if (data.roads) {
    L.geoJSON(data.roads, {
      style: { color: "#9aa5b1", weight: 4, opacity: 0.8 },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(textNode(feature.properties.name), { sticky: true });
      }
    }).addTo(map);
  }

  L.geoJSON(data.neighbours, {
    style: function (feature) {
      // The community's own cells stand out from those of the communities around it.
      return feature.properties.own
        ? { color: "#52606d", weight: 1, fillColor: "#9fb3c8", fillOpacity: 0.55 }
        : { color: "#9aa5b1", weight: 1, fillColor: "#e4e7eb", fillOpacity: 0.6 };
    },
    onEachFeature: function (feature, layer) {
      // A text node, not a string: Leaflet would insert a string as HTML.
      var label = document.createElement("span");
      label.textContent = feature.properties.name + " (" + feature.properties.code + ")";
      layer.bindTooltip(label, { sticky: true });
      if (!drawing && editUrl) {
        layer.on("click", function () {
          window.location.href = editUrl + feature.properties.id;
        });
      }
    }
  }).addTo(map);

  if (data.buildings) {
    L.geoJSON(data.buildings, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          radius: 4, color: "#3e4c59", weight: 1, fillColor: "#fff", fillOpacity: 1,
          interactive: !drawing
        });
      },
      onEachFeature: function (feature, layer) {
        if (!drawing) {
          layer.bindTooltip(textNode(feature.properties.label), { direction: "right" });
        }
      }
    }).addTo(map);
  }

  var communityLayer = L.geoJSON(data.community, {
    interactive: false,
    style: { color: "#1f2933", weight: 3, dashArray: "8 6", fill: false }
  }).addTo(map);

  var currentLayer = null;
  if (data.cell) {
    currentLayer = L.geoJSON(data.cell, {
      interactive: false,
      style: { color: "#0b4f8a", weight: 3, fillColor: "#0b4f8a", fillOpacity: 0.35 }
    }).addTo(map);
  }

  if (currentLayer) {
    // Editing a cell: show it with its surroundings rather than the whole community.
    map.fitBounds(currentLayer.getBounds().pad(0.6), { padding: [8, 8] });
  } else {
    map.fitBounds(communityLayer.getBounds(), { padding: [12, 12] });
  }

  if (!drawing) {
    return;
  }

  var output = document.getElementById(mapElement.getAttribute("data-output") || "drawn_geometry");
  var counter = document.getElementById("draw-count");
  var corners = []; // [lat, lng] in drawing order
  var handles = [];
  var shape = (lineMode ? L.polyline : L.polygon)([], {
    color: "#c2410c",
    weight: 3,
    fillColor: "#f97316",
    fillOpacity: 0.25,
    interactive: false
  }).addTo(map);
  var handleIcon = L.divIcon({ className: "adm-vertex", iconSize: [44, 44] });

  function round(value) {
    return Math.round(value * 1e7) / 1e7;
  }

  function writeOutput() {
    if (lineMode) {
      output.value = corners.length < 2 ? "" : JSON.stringify({
        type: "LineString",
        coordinates: corners.map(function (c) { return [round(c[1]), round(c[0])]; })
      });
    } else if (corners.length < 3) {
      output.value = "";
    } else {
      var ring = corners.map(function (c) {
        return [round(c[1]), round(c[0])];
      });
      ring.push(ring[0]);
      output.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    }
    if (counter) {
      counter.textContent = String(corners.length);
    }
  }

  function redraw() {
    shape.setLatLngs(corners);
    handles.forEach(function (handle) {
      map.removeLayer(handle);
    });
    handles = corners.map(function (corner, index) {
      var handle = L.marker(corner, { draggable: true, icon: handleIcon, keyboard: false });
      handle.on("drag", function (event) {
        var at = event.target.getLatLng();
        corners[index] = [at.lat, at.lng];
        shape.setLatLngs(corners);
      });
      handle.on("dragend", writeOutput);
      return handle.addTo(map);
    });
    writeOutput();
  }

  function load(geojson) {
    var positions = [];
    if (geojson && geojson.type === "LineString") {
      positions = geojson.coordinates;
    } else if (geojson && geojson.type === "Polygon") {
      // The outer ring of a Polygon, without its closing corner.
      var ring = geojson.coordinates[0] || [];
      positions = ring.slice(0, Math.max(0, ring.length - 1));
    }
    corners = positions.map(function (position) {
      return [position[1], position[0]];
    });
    redraw();
  }

  map.on("click", function (event) {
    corners.push([event.latlng.lat, event.latlng.lng]);
    redraw();
  });

  var actions = {
    "edit-current": function () {
      if (data.cell) {
        load(data.cell.geometry);
      }
    },
    undo: function () {
      corners.pop();
      redraw();
    },
    clear: function () {
      corners = [];
      redraw();
    }
  };
  document.querySelectorAll("[data-draw]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = actions[button.getAttribute("data-draw")];
      if (action) {
        action();
      }
    });
  });

  // After a refused save the page comes back with the drawing in the form: show it again.
  if (output.value) {
    try {
      load(JSON.parse(output.value));
    } catch (error) {
      output.value = "";
    }
  }
})();
