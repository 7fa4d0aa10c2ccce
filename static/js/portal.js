// Physician site: prevent double submission (one click sends one request).
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (form.dataset.submitted === "1") { ev.preventDefault(); return; }
  form.dataset.submitted = "1";
  window.setTimeout(function () { form.dataset.submitted = ""; }, 3000);
});
