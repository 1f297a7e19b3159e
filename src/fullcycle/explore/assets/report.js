/* fullcycle EDA report: search, expand/collapse and links that open a column. The charts are
   SVG drawn by fullcycle.charts in Python; window.fullcycleCharts (charts.lazy) inserts each one
   the first time its section is opened. No dependencies. */
(function () {
  "use strict";
  var charts = window.fullcycleCharts;

  // Search: filter column sections by name.
  var search = document.getElementById("search");
  var counter = document.getElementById("search-count");
  var sections = document.querySelectorAll(".col-section");
  search.addEventListener("input", function () {
    var q = search.value.trim().toLowerCase(), hits = [];
    for (var i = 0; i < sections.length; i++) {
      var hit = !q || sections[i].getAttribute("data-name").indexOf(q) >= 0;
      sections[i].style.display = hit ? "" : "none";
      if (hit) hits.push(sections[i]);
    }
    // A narrow search opens what it found (a few columns: cheap to draw).
    if (q && hits.length <= 5) hits.forEach(function (s) { s.open = true; });
    counter.textContent = q ? hits.length + " of " + sections.length + " columns" : "";
  });
  function setAll(open) {
    for (var i = 0; i < sections.length; i++) {
      if (sections[i].style.display !== "none") sections[i].open = open;
    }
  }
  document.getElementById("expand-all").addEventListener("click", function () { setAll(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setAll(false); });

  // A link to a column (warnings table, table of contents) opens its section.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var node = id ? document.getElementById(id) : null;
    while (node) {
      if (node.tagName === "DETAILS") node.open = true;
      node = node.parentElement;
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  charts.drawShown(document);
})();
