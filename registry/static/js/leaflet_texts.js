// Leaflet's own controls say "Zoom in", "Zoom out", "Layers" and "Close popup" in English,
// whatever the page's language. This script, loaded right after leaflet.js and before any
// map is made, gives them the page's translations, which the template puts on the
// script's own data attributes (templates/_leaflet.html).
//
// The zoom titles are options; the other two are written by the controls' _initLayout in
// Leaflet 1.9.4 (registry/static/vendor/leaflet), so those methods are wrapped.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.L) { return; }
  var texts = script.dataset;

  L.Control.Zoom.mergeOptions({ zoomInTitle: texts.zoomIn, zoomOutTitle: texts.zoomOut });

  function after(type, change) {
    var original = type.prototype._initLayout;
    type.prototype._initLayout = function () {
      var result = original.apply(this, arguments);
      change.call(this);
      return result;
    };
  }
  after(L.Control.Layers, function () {
    if (this._layersLink) {
      this._layersLink.title = texts.layers;
      this._layersLink.setAttribute("aria-label", texts.layers);
    }
  });
  after(L.Popup, function () {
    if (this._closeButton) {
      this._closeButton.setAttribute("aria-label", texts.close);
    }
  });
}());
