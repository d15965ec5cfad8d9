// Back after a form was refused and then saved must not land on "Confirm Form
// Resubmission" (ERR_CACHE_MISS): the browser cannot show a POST's page again without
// sending it again. A page that answered a POST (refused, shown again with what was typed)
// turns its history entry into a plain GET of the same address, so Back and reload open
// the form afresh instead (only where that address answers a GET: the server marks the
// page). Successful POSTs redirect (POST/redirect/GET) anyway.
(function () {
  "use strict";
  if (document.documentElement.hasAttribute("data-answered-post") && window.history.replaceState) {
    window.history.replaceState(window.history.state, "", window.location.href);
  }
}());
