/* The signature pad of the pledge page: draw with a finger or stylus, clear, submit as PNG.
 *
 * The drawing canvas follows the screen's pixel ratio so strokes stay sharp; the image
 * sent to the server is redrawn at CSS size, which keeps it small. After a failed submit
 * the page comes back with the image in the hidden field, and it is shown again here.
 */
(function () {
  "use strict";
  var canvas = document.getElementById("signature-canvas");
  if (!canvas || typeof window.SignaturePad !== "function") {
    return;
  }
  var form = canvas.closest("form");
  var input = form.querySelector("input[name='signature']");
  var emptyMessage = document.getElementById("signature-empty");
  var clearButton = document.getElementById("signature-clear");
  var box = canvas.parentElement;
  var pad = new window.SignaturePad(canvas, {
    minWidth: 1.2,
    maxWidth: 3.2,
    penColor: "#111827",
  });
  var restored = Boolean(input.value);

  function showRestored() {
    if (restored && input.value) {
      pad.fromDataURL(input.value, {
        ratio: 1,
        width: canvas.offsetWidth,
        height: canvas.offsetHeight,
      });
    }
  }

  function resize() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    var strokes = pad.toData();
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    showRestored();
    if (strokes.length) {
      pad.fromData(strokes, { clear: false });
    }
    box.classList.toggle("signed", restored || !pad.isEmpty());
  }

  function exportPng() {
    var out = document.createElement("canvas");
    out.width = canvas.offsetWidth;
    out.height = canvas.offsetHeight;
    out.getContext("2d").drawImage(canvas, 0, 0, out.width, out.height);
    return out.toDataURL("image/png");
  }

  // Drawing, or the typed full name for a signer who cannot draw: show the chosen one.
  var methods = form.querySelectorAll("input[name='method']");
  function chosenMethod() {
    var checked = form.querySelector("input[name='method']:checked");
    return checked ? checked.value : "drawn";
  }
  function showMethod() {
    var method = chosenMethod();
    form.querySelectorAll("[data-method]").forEach(function (part) {
      part.hidden = part.getAttribute("data-method") !== method;
    });
    if (method === "drawn") {
      resize();
    }
  }
  methods.forEach(function (radio) {
    radio.addEventListener("change", showMethod);
  });

  function markEmpty(empty) {
    // Announced (role="alert") and tied to the canvas for screen readers.
    emptyMessage.hidden = !empty;
    if (empty) {
      canvas.setAttribute("aria-invalid", "true");
    } else {
      canvas.removeAttribute("aria-invalid");
    }
  }

  pad.addEventListener("beginStroke", function () {
    markEmpty(false);
    box.classList.add("signed");
  });

  clearButton.addEventListener("click", function () {
    pad.clear();
    restored = false;
    input.value = "";
    box.classList.remove("signed");
  });

  form.addEventListener("submit", function (event) {
    if (chosenMethod() === "typed") {
      input.value = "";
      return;
    }
    if (pad.isEmpty() && !restored) {
      event.preventDefault();
      markEmpty(true);
      canvas.focus();
      return;
    }
    if (!pad.isEmpty()) {
      input.value = exportPng();
    }
  });

  window.addEventListener("resize", function () {
    if (chosenMethod() === "drawn") {
      resize();
    }
  });
  showMethod();
})();
