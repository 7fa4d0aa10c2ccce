/* Institution console helpers (no inline scripts: CSP). Every page works without them. */
(function () {
  "use strict";
  // 诊疗科目名称筛选: hide rows that do not match while typing (the 筛选 button does the
  // same on the server when JS is off)
  var input = document.querySelector("[data-subject-filter]");
  var table = document.getElementById("subject-table");
  if (input && table) {
    var rows = table.querySelectorAll("tbody tr[data-subject]");
    var apply = function () {
      var q = input.value.trim();
      rows.forEach(function (tr) {
        var box = tr.querySelector("input[type=checkbox]");
        var show = !q || tr.getAttribute("data-subject").indexOf(q) !== -1 || (box && box.checked);
        tr.hidden = !show;
      });
    };
    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); apply(); }
    });
    var btn = document.querySelector("[data-filter-button]");
    if (btn) {
      btn.addEventListener("click", function (e) { e.preventDefault(); apply(); });
    }
  }
  // 全选 for the bulk activation-code form
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-select-all");
      box.form.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (c) {
        c.checked = box.checked;
      });
    });
  });
})();
