/* sociale-kaart: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";
  // On a small screen the filters fold away, so the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 56rem)").matches) {
    document.querySelectorAll("details[data-fold-on-small-screens]").forEach(function (d) {
      d.open = false;
    });
  }
  // Print button on the printable page.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // Suggestions while typing (themes and names), from the public API; a native datalist.
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.createElement("datalist");
    list.id = input.id + "-suggesties";
    input.setAttribute("list", list.id);
    input.after(list);
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { return; }
      timer = setTimeout(function () {
        fetch("/api/v1/search/suggest?q=" + encodeURIComponent(q), { credentials: "omit" })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (data) {
            list.replaceChildren.apply(list, data.items.slice(0, 8).map(function (s) {
              var option = document.createElement("option");
              option.value = s.label;
              return option;
            }));
          })
          .catch(function () { /* suggestions are optional */ });
      }, 200);
    });
  });
})();
