/* One sweep team-day on the map (templates/sweeps/map.html): each building of the day a
   numbered marker in walking order, showing whether its stops are done, and the day's
   route from the start point through the buildings.

   The data is the day's scoped GeoJSON (registry/sweeps/daymap.py). Numbers and fixed
   words go in as text (textContent, title); a building's popup is an HTML fragment that
   the server rendered and escaped, inserted as parsed nodes, never as a string.
   Loaded after js/map.js, whose registryMap it extends with ``sweepDayLayer``. */
(function () {
  'use strict';

  var registryMap = window.registryMap;
  var ROUTE = { color: '#0b4f8a', weight: 4, opacity: 0.7, lineJoin: 'round', interactive: false };

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function say(message) {
    var status = document.getElementById('map-status');
    if (status) { status.textContent = message || ''; }
  }

  /* The server's escaped fragment as the children of a new box. */
  function fragment(html) {
    var box = element('div', 'map-popup-body');
    var parsed = new DOMParser().parseFromString(html, 'text/html');
    box.replaceChildren.apply(box, Array.prototype.slice.call(parsed.body.childNodes));
    return box;
  }

  /* Our WGS 84 [lon, lat] as the map draws it (shifted on a GCJ-02 basemap). */
  function latLngOf(options, coords) {
    if (options.datum === 'gcj02') {
      var shifted = window.registryGcj02.toGcj02(coords[0], coords[1]);
      return L.latLng(shifted[1], shifted[0]);
    }
    return L.latLng(coords[1], coords[0]);
  }

  function titleOf(texts, props) {
    var values = { label: props.label, done: props.done, stops: props.stops };
    if (props.state === 'done') { return fill(texts.stopsDone, values); }
    if (props.state === 'partly') { return fill(texts.stopsPartly, values); }
    return fill(texts.stopsToDo, values);
  }

  /* A 44 px touch target around a round pin carrying the text. */
  function pinIcon(className, text) {
    return L.divIcon({
      className: 'sweep-marker',
      html: element('span', 'sweep-pin ' + className, text),
      iconSize: [44, 44],
      iconAnchor: [22, 22],
      popupAnchor: [0, -18]
    });
  }

  function popupOptions() {
    var height = Math.max(200, Math.round(window.innerHeight * 0.35));
    return { minWidth: 240, maxWidth: 340, maxHeight: height, autoPanPadding: [16, 32] };
  }

  function buildingMarker(options, feature) {
    var props = feature.properties;
    var look = props.state + (props.next ? ' next' : '');
    var marker = L.marker(latLngOf(options, feature.geometry.coordinates), {
      icon: pinIcon(look, props.label),
      title: titleOf(options.texts, props),
      // Earlier stops on top where markers overlap; the next one to walk above all.
      zIndexOffset: props.next ? 2000 : 1000 - props.order,
      riseOnHover: true
    });
    marker.bindPopup(function () { return fragment(props.popup); }, popupOptions());
    return marker;
  }

  function startMarker(options, feature) {
    var marker = L.marker(latLngOf(options, feature.geometry.coordinates), {
      icon: pinIcon('start', options.texts.start),
      title: options.texts.start,
      zIndexOffset: 3000
    });
    marker.bindPopup(function () { return fragment(feature.properties.popup); }, popupOptions());
    return marker;
  }

  function draw(layer, options, collection) {
    collection.features.forEach(function (feature) {
      var kind = feature.properties.kind;
      if (kind === 'route') {
        var line = feature.geometry.coordinates.map(function (c) { return latLngOf(options, c); });
        layer.addLayer(L.polyline(line, L.extend({ className: 'sweep-route' }, ROUTE)));
      } else if (kind === 'start') {
        layer.addLayer(startMarker(options, feature));
      } else if (kind === 'building') {
        var marker = buildingMarker(options, feature);
        layer.registryBuildings[feature.id] = marker;
        layer.addLayer(marker);
      }
    });
  }

  /* The side list of the day's buildings (rendered by the server): a tap brings the
     building's marker into view and opens it, even where markers overlap. */
  function wireList(layer, map) {
    var buttons = document.querySelectorAll('[data-sweep-building]');
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener('click', function () {
        var marker = layer.registryBuildings[button.getAttribute('data-sweep-building')];
        if (!marker) { return; }
        map.getContainer().scrollIntoView({ block: 'start' });
        map.setView(marker.getLatLng(), Math.max(map.getZoom(), 18), { animate: false });
        marker.openPopup();
      });
    });
  }

  /* The day's layer: fetched once, when it is first shown. */
  var DayLayer = L.FeatureGroup.extend({
    onAdd: function (map) {
      L.FeatureGroup.prototype.onAdd.call(this, map);
      if (this.registryLoaded) { return; }
      this.registryLoaded = true;
      this.registryBuildings = {};
      var layer = this;
      var options = this.registryOptions;
      say(options.texts.loading);
      fetch(options.url, { credentials: 'same-origin', headers: { Accept: 'application/geo+json' } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status + ' ' + options.url); }
          return response.json();
        })
        .then(function (collection) {
          draw(layer, options, collection);
          wireList(layer, map);
          say('');
        })
        .catch(function () {
          layer.registryLoaded = false;
          say(options.texts.failed);
        });
    }
  });

  registryMap.sweepDayLayer = function (options) {
    var layer = new DayLayer();
    layer.registryOptions = options;
    return layer;
  };
}());
