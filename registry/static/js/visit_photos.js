// A stop's photos on a tablet with a weak signal. A camera's JPEG is several MB; the
// server keeps at most 1600 px a side anyway. So the page scales each chosen photo down
// in the browser (canvas, long side 1600 px, JPEG, turned upright by the browser) before
// it is sent, and checks the count and sizes against the server's limits before sending:
// a form refused unread for its size would lose what was typed. Without the needed APIs
// (canvas, createImageBitmap, DataTransfer) the photos go as they are and the server
// scales them (progressive enhancement).
//
// Should the server still refuse the request as too large (it cannot read it), the stop
// page comes back with the error on the photos, and the outcome, count and note typed
// are put back from this tab's sessionStorage, where they were kept when sending.
(function () {
  "use strict";
  var form = document.querySelector("form[data-photo-limits]");
  if (!form) { return; }
  var input = form.querySelector("input[type='file'][name='photos']");
  if (!input) { return; }
  var limits = JSON.parse(form.getAttribute("data-photo-limits"));
  var status = document.getElementById("photo-status");
  var KEEP_BELOW = 1024 * 1024; // a small photo within the size is sent as it is
  var draftKey = "registry-visit-draft:" + window.location.pathname;
  var pending = null;

  function store() {
    try { return window.sessionStorage; } catch (error) { return null; }
  }

  // -- typed values kept while sending, put back on a "too large" answer ----------------
  function keep() {
    var kept = {};
    ["outcome", "people", "note"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field) { return; }
      if (field.length !== undefined && !field.tagName) {
        Array.prototype.forEach.call(field, function (radio) {
          if (radio.checked) { kept[name] = radio.value; }
        });
      } else {
        kept[name] = field.value;
      }
    });
    var box = store();
    if (box) {
      try { box.setItem(draftKey, JSON.stringify(kept)); } catch (error) { /* full */ }
    }
  }

  function putBack() {
    var box = store();
    if (!box) { return; }
    var kept = null;
    try { kept = JSON.parse(box.getItem(draftKey) || "null"); } catch (error) { kept = null; }
    box.removeItem(draftKey);
    if (!kept || !form.hasAttribute("data-too-large")) { return; }
    Object.keys(kept).forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field) { return; }
      if (field.length !== undefined && !field.tagName) {
        Array.prototype.forEach.call(field, function (radio) {
          radio.checked = radio.value === kept[name];
        });
      } else {
        field.value = kept[name];
      }
    });
  }

  // -- the field's error, shown like the server's ------------------------------------
  function showError(message) {
    var errors = document.getElementById(input.id + "-errors");
    if (!errors) {
      errors = document.createElement("div");
      errors.id = input.id + "-errors";
      input.parentNode.appendChild(errors);
    }
    errors.textContent = "";
    var line = document.createElement("p");
    line.className = "error";
    line.setAttribute("role", "alert");
    line.textContent = message;
    errors.appendChild(line);
    input.setAttribute("aria-invalid", "true");
    var described = (input.getAttribute("aria-describedby") || "").split(" ");
    if (described.indexOf(errors.id) < 0) {
      described.push(errors.id);
      input.setAttribute("aria-describedby", described.join(" ").trim());
    }
    input.closest(".field").classList.add("has-error");
    input.focus();
  }

  function clearError() {
    var errors = document.getElementById(input.id + "-errors");
    if (errors) { errors.textContent = ""; }
    input.removeAttribute("aria-invalid");
    input.closest(".field").classList.remove("has-error");
  }

  function tooMuch() {
    var files = Array.prototype.slice.call(input.files || []);
    var total = 0;
    if (files.length > limits.count) { return form.getAttribute("data-text-count"); }
    for (var i = 0; i < files.length; i += 1) {
      if (files[i].size > limits.bytes) { return form.getAttribute("data-text-bytes"); }
      total += files[i].size;
    }
    return total > limits.request ? form.getAttribute("data-text-request") : null;
  }

  // -- scaling ------------------------------------------------------------------------
  function canScale() {
    return !!(window.createImageBitmap && window.DataTransfer && window.HTMLCanvasElement &&
      HTMLCanvasElement.prototype.toBlob);
  }

  function scaled(file) {
    if (!/^image\//.test(file.type)) { return Promise.resolve(file); }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, limits.side / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size <= KEEP_BELOW) { return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) { bitmap.close(); }
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) { resolve(file); return; }
          var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg" }));
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; }); // the server decides what it is
  }

  function scaleAll() {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length || !canScale()) { return Promise.resolve(); }
    status.textContent = form.getAttribute("data-text-scaling");
    status.hidden = false;
    form.setAttribute("aria-busy", "true");
    return Promise.all(files.map(scaled)).then(function (out) {
      var transfer = new DataTransfer();
      out.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
    }).catch(function () { /* keep the originals */ }).then(function () {
      status.hidden = true;
      form.removeAttribute("aria-busy");
      form.setAttribute("data-photos-ready", String(input.files.length));
    });
  }

  input.addEventListener("change", function () {
    clearError();
    form.removeAttribute("data-photos-ready");
    pending = scaleAll().then(function () {
      pending = null;
      var refused = tooMuch();
      if (refused) { showError(refused); }
    });
  });

  function send(event) {
    var refused = tooMuch();
    if (refused) {
      if (event) { event.preventDefault(); }
      showError(refused);
      return;
    }
    if (input.files && input.files.length) { keep(); }
    if (!event) { form.submit(); }
  }

  form.addEventListener("submit", function (event) {
    if (pending) {
      event.preventDefault();
      pending.then(function () { send(null); });
      return;
    }
    send(event);
  });

  putBack();
}());
