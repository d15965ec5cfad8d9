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

  pad.addEventListener("beginStroke", function () {
    emptyMessage.hidden = true;
    box.classList.add("signed");
  });

  clearButton.addEventListener("click", function () {
    pad.clear();
    restored = false;
    input.value = "";
    box.classList.remove("signed");
  });

  form.addEventListener("submit", function (event) {
    if (pad.isEmpty() && !restored) {
      event.preventDefault();
      emptyMessage.hidden = false;
      canvas.focus();
      return;
    }
    if (!pad.isEmpty()) {
      input.value = exportPng();
    }
  });

  window.addEventListener("resize", resize);
  resize();
})();
