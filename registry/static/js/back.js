// Back after a form was refused and then saved must not land on "Confirm Form
// Resubmission" (ERR_CACHE_MISS): the browser cannot show a POST's page again without
// sending it again. A page that answered a POST (refused, shown again with what was typed)
// turns its history entry into a plain GET of the same address, so Back and reload open
// the form afresh instead (only where that address answers a GET: the server marks the
// page). Successful POSTs redirect (POST/redirect/GET) anyway.
//
// Opened afresh, a reloaded refused form would lose what was typed. So a refused form's
// fields are kept as a draft in this tab's sessionStorage (never localStorage: it goes
// with the tab, and at the latest after 30 minutes, the life of a sealed document number)
// and put back when the same address is reloaded or reached by Back/Forward. Submitting
// the form drops its draft (a refused answer keeps a new one), and so does logging out.
// Document numbers are never in it: the page only ever holds them sealed.
(function () {
  "use strict";
  var root = document.documentElement;
  var PREFIX = "registry-draft:";
  var LIFE_MS = 30 * 60 * 1000;

  if (root.hasAttribute("data-answered-post") && window.history.replaceState) {
    window.history.replaceState(window.history.state, "", window.location.href);
  }
  var store;
  try { store = window.sessionStorage; } catch (error) { return; }
  if (!store) { return; }

  function forms() {
    return Array.prototype.filter.call(
      document.querySelectorAll("main form[method='post'], main form[method='POST']"),
      function (form) { return !form.hasAttribute("data-no-draft"); }
    );
  }

  function keyOf(index) {
    return PREFIX + window.location.pathname + window.location.search + "#" + index;
  }

  function kept(element) {
    if (!element.name || element.disabled || element.name === "csrf_token") { return false; }
    return ["password", "file", "submit", "button", "reset", "image"].indexOf(element.type) < 0;
  }

  function snapshot(form) {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element)) { return; }
      if (element.type === "checkbox" || element.type === "radio") {
        fields.push([element.name, element.value, element.checked]);
      } else if (element.tagName === "SELECT" && element.multiple) {
        Array.prototype.forEach.call(element.options, function (option) {
          fields.push([element.name, option.value, option.selected]);
        });
      } else {
        fields.push([element.name, element.value]);
      }
    });
    var hints = Array.prototype.map.call(
      form.querySelectorAll(".sealed-hint"), function (hint) { return hint.textContent; }
    );
    return { at: Date.now(), fields: fields, hints: hints };
  }

  function save(form, index) {
    try { store.setItem(keyOf(index), JSON.stringify(snapshot(form))); } catch (error) { /* full: keep none */ }
  }

  function sealedBox(form, name) {
    // "document_number-sealed" belongs after the box "document_number".
    var box = form.elements.namedItem(name.replace(/-sealed$/, ""));
    return box && box.nodeType === 1 ? box : null;
  }

  function putBack(form, draft) {
    var hints = draft.hints || [];
    draft.fields.forEach(function (field) {
      var name = field[0], value = field[1];
      var found = form.elements.namedItem(name);
      if (!found && /-sealed$/.test(name)) {
        var box = sealedBox(form, name);
        if (!box) { return; }
        var sealed = document.createElement("input");
        sealed.type = "hidden";
        sealed.name = name;
        sealed.value = value;
        box.insertAdjacentElement("afterend", sealed);
        if (hints.length) {
          var hint = document.createElement("p");
          hint.className = "muted hint sealed-hint";
          hint.textContent = hints.shift();
          sealed.insertAdjacentElement("afterend", hint);
        }
        return;
      }
      var elements = found && found.length !== undefined && !found.tagName ? found : [found];
      Array.prototype.forEach.call(elements, function (element) {
        if (!element || !kept(element)) { return; }
        if (element.type === "checkbox" || element.type === "radio") {
          if (element.value === value) { element.checked = field[2]; }
        } else if (element.tagName === "SELECT" && element.multiple) {
          Array.prototype.forEach.call(element.options, function (option) {
            if (option.value === value) { option.selected = field[2]; }
          });
        } else {
          element.value = value;
        }
      });
    });
    form.setAttribute("data-draft-restored", "");
    var notice = document.getElementById("draft-restored");
    if (notice) {
      notice.hidden = false;
      form.insertAdjacentElement("beforebegin", notice);
    }
  }

  function howReached() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    return entries.length ? entries[0].type : "navigate";
  }

  var answered = root.hasAttribute("data-answered-post");
  var reached = howReached();
  forms().forEach(function (form, index) {
    var key = keyOf(index);
    if (answered) {
      save(form, index);
      form.addEventListener("input", function () { save(form, index); });
      form.addEventListener("change", function () { save(form, index); });
    } else if (reached === "reload" || reached === "back_forward") {
      var draft = null;
      try { draft = JSON.parse(store.getItem(key) || "null"); } catch (error) { draft = null; }
      if (draft && draft.fields && Date.now() - draft.at < LIFE_MS) {
        putBack(form, draft);
        form.addEventListener("input", function () { save(form, index); });
        form.addEventListener("change", function () { save(form, index); });
      } else {
        store.removeItem(key);
      }
    }
    form.addEventListener("submit", function () { store.removeItem(key); });
  });

  var logout = document.querySelector("form[data-logout]");
  if (logout) {
    logout.addEventListener("submit", function () {
      Object.keys(store).forEach(function (key) {
        if (key.indexOf(PREFIX) === 0) { store.removeItem(key); }
      });
    });
  }
}());
