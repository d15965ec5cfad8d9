/* The grid map in the browser: layers fed by the app, cell colours and legend, the cell
   panel, building popups, address search, "where am I", and the view kept in the URL.

   The map itself is built by folium (geo/map.py), whose script calls registryMap.*.
   Text from the registry goes into the page as text nodes (textContent) and never through
   Leaflet's or folium's HTML-string tooltips; the panel and popups are HTML fragments the
   server rendered and escaped. */
(function () {
  'use strict';

  var registryMap = {};
  var state = { map: null, config: null, layers: {}, legend: null, asOf: '', selected: null };

  // -- small helpers -----------------------------------------------------------------------

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function byId(id) { return document.getElementById(id); }

  function say(message) {
    var status = byId('map-status');
    if (status) { status.textContent = message || ''; }
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
    });
  }

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + ' ' + url); }
        return response.json();
      });
  }

  function getFragment(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        var type = response.headers.get('Content-Type') || '';
        if (!response.ok || type.indexOf('text/html') !== 0) { throw new Error(response.status + ' ' + url); }
        return response.text();
      });
  }

  /* A fragment the server rendered (and escaped) becomes the children of ``target``. */
  function showFragment(target, html) {
    var parsed = new DOMParser().parseFromString(html, 'text/html');
    target.replaceChildren.apply(target, Array.prototype.slice.call(parsed.body.childNodes));
  }

  function gcj() { return state.config && state.config.datum === 'gcj02'; }

  /* Our WGS 84 [lon, lat] as the map draws it (shifted on a GCJ-02 basemap). */
  function displayLatLng(lon, lat) {
    if (gcj()) {
      var shifted = window.registryGcj02.toGcj02(lon, lat);
      return L.latLng(shifted[1], shifted[0]);
    }
    return L.latLng(lat, lon);
  }

  /* What the map shows at ``latlng`` in WGS 84, for the URL and for storing. */
  function storedLatLng(latlng) {
    if (gcj()) {
      var back = window.registryGcj02.toWgs84(latlng.lng, latlng.lat);
      return L.latLng(back[1], back[0]);
    }
    return latlng;
  }

  function coordsToLatLng(coords) { return displayLatLng(coords[0], coords[1]); }

  function withParams(url, params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      if (params[key] !== null && params[key] !== undefined) {
        parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(params[key]));
      }
    });
    if (!parts.length) { return url; }
    return url + (url.indexOf('?') >= 0 ? '&' : '?') + parts.join('&');
  }

  // -- panes: cells under boundaries under roads under points ------------------------------

  /* Called as soon as folium has made the map, before any layer is added. */
  registryMap.start = function (map, config) {
    state.map = map;
    state.config = config;
    preparePanes(map);
    patchVectorGrid();
  };

  /* leaflet.vectorgrid 1.3.0 draws points as circles without a LatLng; on a click,
     Leaflet 1.9 asks a small circle for its LatLng and throws. Without getLatLng, Leaflet
     takes the click's own position instead. (Its canvas renderer also calls the removed
     L.DomEvent.fakeStop, which is why the tiles use the SVG renderer.) */
  function patchVectorGrid() {
    if (!L.VectorGrid || L.VectorGrid.prototype.registryPatched) { return; }
    var create = L.VectorGrid.prototype._createLayer;
    L.VectorGrid.prototype._createLayer = function (feature, pxPerExtent, layerStyle) {
      var layer = create.call(this, feature, pxPerExtent, layerStyle);
      if (feature.type === 1) { layer.getLatLng = null; }
      return layer;
    };
    // Points only from registryMinZoom: below it no tile is asked for. (A layer's minZoom
    // would instead stop the whole map from zooming out below it.)
    var valid = L.VectorGrid.prototype._isValidTile;
    L.VectorGrid.prototype._isValidTile = function (coords) {
      var from = this.options.registryMinZoom;
      return !(from && coords.z < from) && valid.call(this, coords);
    };
    L.VectorGrid.prototype.registryPatched = true;
  }

  function preparePanes(map) {
    var panes = [['registryCells', 380], ['registryOutlines', 410], ['registryRoads', 420],
      ['registryLabels', 430], ['registryPoints', 450]];
    panes.forEach(function (pair) {
      var pane = map.createPane(pair[0]);
      pane.style.zIndex = pair[1];
      if (pair[0] === 'registryOutlines' || pair[0] === 'registryRoads' || pair[0] === 'registryLabels') {
        pane.style.pointerEvents = 'none';
      }
    });
  }

  // -- grid cells ---------------------------------------------------------------------------

  function detailFor(zoom) { return zoom <= 12 ? 12 : (zoom <= 14 ? 14 : 16); }

  function cellStyle(feature) {
    var measure = state.config.measure;
    var legend = state.legend && state.legend[measure];
    var index = feature.properties.classes[measure];
    var colour = state.config.noDataColour;
    if (legend && index !== null && index !== undefined && legend.classes[index]) {
      colour = legend.classes[index].colour;
    }
    var selected = state.selected === feature.id;
    var zoom = state.map ? state.map.getZoom() : 0;
    return {
      pane: 'registryCells',
      color: selected ? '#0b4f8a' : '#52606d',
      weight: selected ? 4 : 1,
      opacity: 0.9,
      fillColor: colour,
      fillOpacity: zoom >= state.config.buildingMinZoom ? 0.3 : 0.72
    };
  }

  function cellTooltip(feature) {
    var props = feature.properties;
    var measure = state.config.measure;
    var box = element('div', 'map-tip');
    box.appendChild(element('strong', null, props.name));
    box.appendChild(element('div', 'map-tip-sub', props.community + ' · ' + props.code));
    var label = state.legend && state.legend[measure] ? state.legend[measure].label : '';
    box.appendChild(element('div', null, label + ': ' + props.values[measure]));
    return box;
  }

  function loadCells(layer) {
    var map = state.map;
    var detail = detailFor(map.getZoom());
    layer.registryDetail = detail;
    say(state.config.texts.loading);
    getJson(withParams(layer.registryUrl, { z: detail })).then(function (collection) {
      state.legend = collection.legend;
      state.asOf = collection.asOfLabel;
      layer.clearLayers();
      layer.addData(collection);
      renderLegend();
      say('');
    }).catch(function () { say(state.config.texts.failed); });
  }

  registryMap.cellsLayer = function (options) {
    var layer = L.geoJSON(null, {
      pane: 'registryCells',
      coordsToLatLng: coordsToLatLng,
      style: cellStyle,
      onEachFeature: function (feature, cell) {
        cell.bindTooltip(function () { return cellTooltip(feature); }, { sticky: true, className: 'map-cell-tip' });
        cell.on('click', function (event) {
          L.DomEvent.stopPropagation(event);
          openPanel(feature.id);
        });
      }
    });
    layer.registryUrl = withParams(options.url, {});
    layer.registryKey = options.key;
    layer.on('add', function () { loadCells(layer); });
    return layer;
  };

  function restyleCells() {
    var cells = state.layers.cells;
    if (cells) { cells.setStyle(cellStyle); }
  }

  // -- the legend -------------------------------------------------------------------------

  function renderLegend() {
    var box = byId('map-legend');
    if (!box || !state.legend) { return; }
    var legend = state.legend[state.config.measure];
    var nodes = [element('h2', null, legend.label)];
    var list = element('ul', 'map-swatches');
    legend.classes.forEach(function (entry) {
      var item = element('li');
      var swatch = element('span', 'map-swatch');
      swatch.style.background = entry.colour;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(entry.label));
      list.appendChild(item);
    });
    if (legend.noData) {
      var none = element('li');
      var grey = element('span', 'map-swatch');
      grey.style.background = state.config.noDataColour;
      none.appendChild(grey);
      none.appendChild(document.createTextNode(state.config.texts.noData));
      list.appendChild(none);
    }
    nodes.push(list);
    nodes.push(element('p', 'muted small', legend.asOfLabel || state.asOf));
    box.replaceChildren.apply(box, nodes);
  }

  // -- the cell panel ---------------------------------------------------------------------

  function openPanel(cellId) {
    var panel = byId('map-panel');
    var body = byId('map-panel-body');
    if (!panel || !body) { return; }
    state.selected = cellId;
    restyleCells();
    panel.hidden = false;
    panel.setAttribute('aria-busy', 'true');
    body.replaceChildren(element('p', 'muted', state.config.texts.loading));
    getFragment(fill(state.config.panelUrl, { id: cellId })).then(function (html) {
      showFragment(body, html);
      panel.removeAttribute('aria-busy');
      if (panel.getBoundingClientRect().top > window.innerHeight - 80) {
        panel.scrollIntoView({ block: 'start', behavior: 'smooth' });
      }
    }).catch(function () {
      panel.removeAttribute('aria-busy');
      body.replaceChildren(element('p', 'error', state.config.texts.failed));
    });
  }

  function closePanel() {
    var panel = byId('map-panel');
    if (panel) { panel.hidden = true; }
    state.selected = null;
    restyleCells();
  }

  // -- boundaries and roads ---------------------------------------------------------------

  var OUTLINES = {
    communities: { color: '#1f2933', weight: 2, dashArray: null },
    stations: { color: '#0b4f8a', weight: 4, dashArray: '10 6' },
    focus_areas: { color: '#6a3d9a', weight: 3, dashArray: '4 4' }
  };

  function remoteGeoJson(options, geoJsonOptions) {
    var layer = L.geoJSON(null, L.extend({ coordsToLatLng: coordsToLatLng }, geoJsonOptions));
    layer.on('add', function () {
      if (layer.registryLoaded) { return; }
      layer.registryLoaded = true;
      getJson(withParams(options.url, { z: detailFor(state.map.getZoom()) })).then(function (collection) {
        layer.addData(collection);
      }).catch(function () {
        layer.registryLoaded = false;
        say(state.config.texts.failed);
      });
    });
    return layer;
  }

  function label(layer, text, className) {
    layer.bindTooltip(element('span', null, text), {
      permanent: true, direction: 'center', className: className, pane: 'registryLabels', interactive: false
    });
  }

  registryMap.outlineLayer = function (options) {
    var look = OUTLINES[options.key] || OUTLINES.communities;
    return remoteGeoJson(options, {
      pane: 'registryOutlines',
      interactive: false,
      style: function () {
        return { color: look.color, weight: look.weight, dashArray: look.dashArray, fill: false, opacity: 0.9 };
      },
      onEachFeature: function (feature, layer) {
        label(layer, feature.properties.name, 'map-area-label map-area-' + options.key);
      }
    });
  };

  registryMap.roadsLayer = function (options) {
    return remoteGeoJson(options, {
      pane: 'registryRoads',
      interactive: false,
      style: function () { return { color: '#9aa5b1', weight: 3, opacity: 0.9 }; },
      onEachFeature: function (feature, layer) { label(layer, feature.properties.name, 'map-road-label'); }
    });
  };

  // -- buildings and organisations (vector tiles) -----------------------------------------

  registryMap.pointStyle = function (key) {
    return function (properties, zoom) {
      if (key === 'organisations') {
        return { radius: 5, weight: 2, color: '#3f007d', fill: true, fillColor: '#bcbddc', fillOpacity: 1 };
      }
      var colour = state.config ? state.config.statusColours[properties.worst] : '#ffffff';
      var radius = zoom >= 18 ? 10 : 7;
      var dot = {
        radius: radius, weight: 1.5, color: '#1f2933', fill: true,
        fillColor: colour || '#ffffff', fillOpacity: 0.95
      };
      var ring = flagRing(properties, radius);
      return ring ? [ring, dot] : dot;
    };
  };

  /* A building with live flags gets a ring around its dot, drawn first (under it): colour
     and line (solid, dashed, dotted) both say the state the flags ask for, so it reads
     without colour too. The "Flags on buildings" switch hides the rings by a class on the
     map (css/map.css), with no tile fetched again. */
  function flagRing(properties, radius) {
    var look = null;
    (state.config ? state.config.flagRings : []).forEach(function (ring) {
      if (ring.state === properties.flag_state) { look = ring; }
    });
    if (!look) { return null; }
    var width = state.config.ringWidth;
    return {
      radius: radius + width + 2, weight: width, color: look.colour, opacity: 1,
      dashArray: look.dash, lineCap: 'round', fill: true, fillColor: '#ffffff', fillOpacity: 0.9,
      interactive: false, className: 'map-flag-ring map-flag-' + properties.flag_state
    };
  }

  function showFlags(shown) {
    state.map.getContainer().classList.toggle('map-flags-hidden', !shown);
  }

  /* The "Flags on buildings" entry of the layer control: an empty layer whose presence
     shows the rings. */
  registryMap.flagsLayer = function () {
    var layer = L.layerGroup();
    layer.on('add', function () { showFlags(true); });
    layer.on('remove', function () { showFlags(false); });
    return layer;
  };

  function openPopup(latlng, url) {
    var box = element('div', 'map-popup-body');
    box.appendChild(element('p', 'muted', state.config.texts.loading));
    var popup = L.popup({ minWidth: 220, maxWidth: 320, autoPanPadding: [24, 24] })
      .setLatLng(latlng).setContent(box).openOn(state.map);
    getFragment(url).then(function (html) {
      showFragment(box, html);
      popup.update();  // the size and the pan follow the content that arrived
    }).catch(function () {
      box.replaceChildren(element('p', 'error', state.config.texts.failed));
      popup.update();
    });
  }

  function wirePoints(layer, key) {
    var template = key === 'organisations' ? state.config.organisationUrl : state.config.buildingUrl;
    layer.on('click', function (event) {
      if (event.originalEvent) { L.DomEvent.stopPropagation(event.originalEvent); }
      var id = event.layer && event.layer.properties ? event.layer.properties.id : null;
      if (id === null || id === undefined) { return; }
      openPopup(event.latlng, fill(template, { id: id }));
    });
  }

  // -- search -------------------------------------------------------------------------------

  var searchMarker = null;

  function flyTo(hit) {
    var latlng = displayLatLng(hit.lon, hit.lat);
    state.map.flyTo(latlng, Math.max(state.map.getZoom(), 18));
    if (searchMarker) { searchMarker.remove(); }
    searchMarker = L.circleMarker(latlng, {
      pane: 'registryLabels', radius: 16, color: '#0b4f8a', weight: 3, fill: false, interactive: false
    }).addTo(state.map);
  }

  function wireSearch() {
    var form = byId('map-search');
    var results = byId('map-search-results');
    if (!form || !results) { return; }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var body = new FormData(form);
      if (!String(body.get('q') || '').trim()) { return; }
      fetch(form.action, { method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (found) { showResults(results, found); })
        .catch(function () { say(state.config.texts.failed); });
    });
  }

  function showResults(results, found) {
    var items = found.results.map(function (hit) {
      var item = element('li');
      var button = element('button', 'button link map-search-hit', hit.text);
      button.type = 'button';
      button.addEventListener('click', function () { flyTo(hit); });
      item.appendChild(button);
      return item;
    });
    if (!items.length) { items.push(element('li', 'muted', state.config.texts.noResults)); }
    if (found.more) { items.push(element('li', 'muted small', state.config.texts.moreResults)); }
    results.replaceChildren.apply(results, items);
    results.hidden = false;
    if (found.results.length === 1) { flyTo(found.results[0]); }
  }

  // -- where am I ---------------------------------------------------------------------------

  var here = null;

  function wireLocate() {
    var button = byId('map-locate');
    if (!button) { return; }
    button.addEventListener('click', function () {
      if (!window.isSecureContext || !navigator.geolocation) {
        say(state.config.texts.locateInsecure);
        return;
      }
      say(state.config.texts.locating);
      navigator.geolocation.getCurrentPosition(function (position) {
        // GPS gives WGS 84, as the registry stores; shifted only to be drawn.
        var latlng = displayLatLng(position.coords.longitude, position.coords.latitude);
        var metres = Math.round(position.coords.accuracy || 0);
        if (here) { here.remove(); }
        here = L.layerGroup([
          L.circle(latlng, { radius: metres, pane: 'registryLabels', color: '#0b4f8a', weight: 1, fillOpacity: 0.1, interactive: false }),
          L.circleMarker(latlng, { radius: 8, pane: 'registryLabels', color: '#fff', weight: 3, fillColor: '#0b4f8a', fillOpacity: 1, interactive: false })
        ]).addTo(state.map);
        state.map.setView(latlng, Math.max(state.map.getZoom(), 17));
        say(fill(state.config.texts.located, { metres: metres }));
      }, function () {
        say(state.config.texts.locateFailed);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
    });
  }

  // -- the view in the URL ------------------------------------------------------------------

  function writeState() {
    var map = state.map;
    var params = new URLSearchParams(window.location.search);
    var centre = storedLatLng(map.getCenter());
    var shown = Object.keys(state.layers).filter(function (key) { return map.hasLayer(state.layers[key]); });
    params.set('m', state.config.measure);
    params.set('l', shown.join(','));
    params.set('lat', centre.lat.toFixed(5));
    params.set('lon', centre.lng.toFixed(5));
    params.set('z', String(map.getZoom()));
    window.history.replaceState(null, '', window.location.pathname + '?' + params.toString());
  }

  function wireChoices() {
    var measure = byId('map-measure');
    if (measure) {
      measure.addEventListener('change', function () {
        state.config.measure = measure.value;
        restyleCells();
        renderLegend();
        writeState();
      });
    }
    var station = byId('map-station');
    if (station) {
      station.addEventListener('change', function () {
        var params = new URLSearchParams(window.location.search);
        ['lat', 'lon', 'z'].forEach(function (key) { params.delete(key); });
        if (station.value) { params.set('station', station.value); } else { params.delete('station'); }
        window.location.assign(window.location.pathname + '?' + params.toString());
      });
    }
  }

  // -- start --------------------------------------------------------------------------------

  /* Called once folium has added every layer: events, controls and the URL. */
  registryMap.wire = function (layers) {
    var map = state.map;
    state.layers = layers;
    Object.keys(layers).forEach(function (key) {
      if (key === 'buildings' || key === 'organisations') { wirePoints(layers[key], key); }
    });
    showFlags(Boolean(layers.flags && map.hasLayer(layers.flags)));
    var close = byId('map-panel-close');
    if (close) { close.addEventListener('click', closePanel); }
    map.on('zoomend', function () {
      var zoom = map.getZoom();
      var container = map.getContainer();
      container.classList.toggle('map-zoom-streets', zoom >= 15);
      container.classList.toggle('map-zoom-areas', zoom <= 13);
      var cells = layers.cells;
      if (cells && map.hasLayer(cells) && detailFor(zoom) > (cells.registryDetail || 0)) {
        loadCells(cells);
      } else {
        restyleCells();
      }
    });
    map.fire('zoomend');
    map.on('moveend overlayadd overlayremove', writeState);
    wireChoices();
    wireSearch();
    wireLocate();
  };

  window.registryMap = registryMap;
}());
