// A refused form's error summary takes the focus, so that a screen reader reads it and a
// keyboard user starts from it; each of its links moves the focus to its field.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (field && typeof field.focus === "function") {
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus();
    }
  });
}());
