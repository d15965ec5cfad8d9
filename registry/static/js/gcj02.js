/* GCJ-02, the offset of Chinese commercial basemaps, and its inverse, in the browser.
   The same published formula as geo/gcj02.py (tested against the same reference values):
   our WGS 84 geometry is shifted to GCJ-02 for display on such a basemap, and a point
   placed on it (or read off it) is shifted back before it is stored. */
(function () {
  'use strict';
  var A = 6378245.0;
  var EE = 0.00669342162296594323;
  var PI = Math.PI;

  function latTerm(x, y) {
    var v = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    v += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    v += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    return v + (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
  }

  function lonTerm(x, y) {
    var v = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    v += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    v += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    return v + (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
  }

  function inChina(lon, lat) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
  }

  function offset(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0;
    var radLat = lat / 180.0 * PI;
    var magic = 1.0 - EE * Math.sin(radLat) * Math.sin(radLat);
    var sqrtMagic = Math.sqrt(magic);
    var dLat = latTerm(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrtMagic) * PI);
    var dLon = lonTerm(x, y) * 180.0 / (A / sqrtMagic * Math.cos(radLat) * PI);
    return [dLon, dLat];
  }

  /* [lon, lat] in WGS 84 -> [lon, lat] as a GCJ-02 basemap draws it. */
  function toGcj02(lon, lat) {
    if (!inChina(lon, lat)) { return [lon, lat]; }
    var d = offset(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  /* [lon, lat] read off a GCJ-02 basemap -> WGS 84, by iterating the offset. */
  function toWgs84(lon, lat) {
    if (!inChina(lon, lat)) { return [lon, lat]; }
    var wLon = lon, wLat = lat;
    for (var i = 0; i < 4; i++) {
      var d = offset(wLon, wLat);
      wLon = lon - d[0];
      wLat = lat - d[1];
    }
    return [wLon, wLat];
  }

  window.registryGcj02 = { toGcj02: toGcj02, toWgs84: toWgs84 };
}());
