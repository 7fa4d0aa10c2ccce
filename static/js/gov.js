/* 审批端 (commission console): confirmation of POST buttons and the import progress poller. */
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var btn = ev.target.querySelector("[data-confirm]");
    if (btn && !window.confirm(btn.getAttribute("data-confirm"))) { ev.preventDefault(); }
  });
  var box = document.getElementById("import-job");
  if (!box || box.getAttribute("data-done") === "1") { return; }
  var url = box.getAttribute("data-status-url");
  function set(id, v) { var el = document.getElementById(id); if (el) { el.textContent = v; } }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var pct = s.total_rows ? Math.floor(100 * s.processed_rows / s.total_rows) : 0;
        var bar = document.getElementById("import-progress");
        if (bar) { bar.style.width = pct + "%"; bar.textContent = pct + "%"; bar.setAttribute("aria-valuenow", pct); }
        set("import-status", s.status_label); set("import-total", s.total_rows);
        set("import-processed", s.processed_rows); set("import-imported", s.imported_rows);
        set("import-failed", s.failed_rows);
        if (s.status === "running") { window.setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
