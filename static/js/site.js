// Captcha refresh ("换一张"): reload the image with a cache-busting query.
document.addEventListener("click", function (ev) {
  var link = ev.target.closest("[data-captcha-refresh]");
  if (!link) return;
  ev.preventDefault();
  var img = link.parentNode.querySelector("[data-captcha]");
  if (img) img.src = img.src.split("?")[0] + "?t=" + Date.now();
});
