/* Grid worker's pages: the point of an address (GPS or map) and the owner fields.
 * Progressive enhancement: without this script, or without Leaflet, the plain inputs work.
 * No request leaves the server: instead of basemap tiles the map draws the worker's cells,
 * the roads near them and the buildings already registered, and the point. */
(function () {
  "use strict";

  function pointForm(form) {
    var lon = form.querySelector("input[name=lon]");
    var lat = form.querySelector("input[name=lat]");
    var gps = form.querySelector("[data-gps]");
    var status = form.querySelector("[data-gps-status]");
    var box = document.getElementById("point-map");
    var map = null;
    var marker = null;

    function current() {
      var x = parseFloat(lon.value), y = parseFloat(lat.value);
      return isFinite(x) && isFinite(y) ? [y, x] : null;
    }

    function place(latlng, pan) {
      if (!map) { return; }
      if (!latlng) { return; }
      if (!marker) {
        marker = window.L.circleMarker(latlng, {
          radius: 10, color: "#b42318", weight: 3, fillColor: "#b42318", fillOpacity: 0.5
        }).addTo(map);
      } else {
        marker.setLatLng(latlng);
      }
      if (pan) { map.panTo(latlng); }
    }

    function setPoint(x, y, pan) {
      lon.value = x.toFixed(7);
      lat.value = y.toFixed(7);
      place([y, x], pan);
    }

    if (gps) {
      if (!navigator.geolocation) {
        gps.disabled = true;
        status.textContent = gps.dataset.unavailable;
      } else {
        gps.addEventListener("click", function () {
          status.textContent = gps.dataset.waiting;
          navigator.geolocation.getCurrentPosition(function (position) {
            setPoint(position.coords.longitude, position.coords.latitude, true);
            status.textContent = gps.dataset.done.replace("{m}", Math.round(position.coords.accuracy));
          }, function () {
            status.textContent = gps.dataset.failed;
          }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
        });
      }
    }

    if (box && window.L) {
      var features = JSON.parse(document.getElementById("map-features").textContent || "{}");
      var L = window.L;
      function textNode(text) {
        var span = document.createElement("span");
        span.textContent = text == null ? "" : String(text);
        return span;
      }
      box.hidden = false;
      map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
      function layer(items, style) {
        return L.geoJSON((items || []).map(function (item) {
          return { type: "Feature", properties: item, geometry: item.geometry };
        }), style);
      }
      var cells = layer(features.cells, {
        style: { color: "#0b4f8a", weight: 2, fillColor: "#0b4f8a", fillOpacity: 0.08 }
      });
      var roads = layer(features.roads, { style: { color: "#9aa5b1", weight: 4, opacity: 0.8 } });
      // Tooltips get text nodes, never strings: Leaflet inserts strings as HTML, and these
      // labels are typed by users.
      roads.eachLayer(function (road) {
        road.bindTooltip(textNode(road.feature.properties.name), { sticky: true });
      });
      var buildings = features.buildings || [];
      var labelled = buildings.length <= 40;
      var points = layer(buildings, {
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, { radius: 5, color: "#3e4c59", weight: 1, fillColor: "#fff", fillOpacity: 1 });
        }
      });
      points.eachLayer(function (point) {
        point.bindTooltip(textNode(point.feature.properties.label), {
          permanent: labelled, direction: "right", className: "gw-label"
        });
      });
      roads.addTo(map);
      cells.addTo(map);
      points.addTo(map);
      if (cells.getLayers().length) {
        map.fitBounds(cells.getBounds(), { padding: [16, 16] });
      } else {
        map.setView(current() || [30.6, 114.1], 16);
      }
      map.on("click", function (event) { setPoint(event.latlng.lng, event.latlng.lat, false); });
      place(current(), false);
      [lon, lat].forEach(function (input) {
        input.addEventListener("change", function () { place(current(), true); });
      });
    }
  }

  function ownerFields(select) {
    var groups = document.querySelectorAll("[data-owner]");
    function update() {
      groups.forEach(function (group) {
        group.hidden = group.getAttribute("data-owner") !== select.value;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  document.querySelectorAll("[data-point-form]").forEach(pointForm);
  var owner = document.querySelector("select[name=owner_kind]");
  if (owner) { ownerFields(owner); }
}());
