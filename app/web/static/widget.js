/* sociale-kaart widget: <script src="https://<host>/widget.js" data-thema="geld-en-schulden" async></script>
   places an iframe with a small search (/widget) right where the script tag is.
   Optional: data-gebied="wijk:thamerdal" or "kern:de-kwakel", data-hoogte="480" (pixels),
   data-titel (the iframe's title for screen readers). No cookies, nothing else is loaded. */
(function () {
  "use strict";
  var scripts = document.currentScript ? [document.currentScript]
    : document.querySelectorAll("script[src*='/widget.js']:not([data-sk-geplaatst])");
  Array.prototype.forEach.call(scripts, function (script) {
    if (script.hasAttribute("data-sk-geplaatst")) { return; }
    script.setAttribute("data-sk-geplaatst", "");
    var src = new URL(script.src, document.baseURI);
    var query = new URLSearchParams();
    ["thema", "gebied"].forEach(function (name) {
      var value = script.getAttribute("data-" + name);
      if (value) { query.set(name, value); }
    });
    var height = parseInt(script.getAttribute("data-hoogte") || "", 10);
    var frame = document.createElement("iframe");
    frame.src = src.origin + "/widget" + (query.toString() ? "?" + query : "");
    frame.title = script.getAttribute("data-titel") || "Sociale kaart: zoek hulp, activiteiten en advies";
    frame.loading = "lazy";
    frame.referrerPolicy = "no-referrer";
    frame.style.width = "100%";
    frame.style.maxWidth = "40rem";
    frame.style.border = "1px solid #6b6b6b";
    frame.style.height = (height >= 200 && height <= 2000 ? height : 480) + "px";
    script.parentNode.insertBefore(frame, script);
  });
})();
