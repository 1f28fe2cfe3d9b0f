// The settings page. A save's notice ("Saved") is said once: the address loses its ?saved=1, so reloading the
// page, or coming back to it, does not say it again.
(function () {
  "use strict";
  const url = new URL(window.location.href);
  if (url.searchParams.has("saved")) {
    url.searchParams.delete("saved");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
})();
