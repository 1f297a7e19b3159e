"""Charts drawn the first time they are shown: a page with hundreds of charts (a 500-column EDA
report) keeps each chart's SVG in an inert <template> and inserts it when its section opens, so
the page lays out only what is visible. `SCRIPT` also shows a mark's <title> as a tooltip that
follows the pointer (the browser's own tooltip waits a second and cannot be styled)."""

from __future__ import annotations

SLOT = "chart-slot"


def slot(chart: str) -> str:
    """`chart` (a figure from charts.svg / charts.summary) kept for drawing on first show."""
    if not chart:
        return ""
    return f'<div class="{SLOT}" data-plot><template>{chart}</template></div>'


SCRIPT = """
window.fullcycleCharts = (function () {
  "use strict";
  function draw(slot) {
    slot.setAttribute("data-done", "1");
    var tpl = slot.querySelector("template");
    if (!tpl) return;
    var frag = document.importNode(tpl.content, true);
    var titles = frag.querySelectorAll("title");
    for (var i = 0; i < titles.length; i++) {
      var t = titles[i], owner = t.parentNode;
      if (owner.tagName.toLowerCase() === "svg") continue;  // the chart's own name stays
      owner.setAttribute("data-tip", t.textContent);
      owner.removeChild(t);
    }
    tpl.parentNode.replaceChild(frag, tpl);
  }
  // Shown = every enclosing <details> is open and nothing around it is filtered out.
  function shown(node) {
    for (var p = node.parentElement; p; p = p.parentElement) {
      if ((p.tagName === "DETAILS" && !p.open) || p.style.display === "none") return false;
    }
    return true;
  }
  function drawShown(root) {
    var slots = root.querySelectorAll(".chart-slot:not([data-done])");
    for (var i = 0; i < slots.length; i++) if (shown(slots[i])) draw(slots[i]);
  }
  var tip = document.createElement("div");
  tip.className = "chart-tip";
  document.body.appendChild(tip);
  document.addEventListener("mousemove", function (e) {
    var t = e.target && e.target.closest ? e.target.closest("[data-tip]") : null;
    if (!t) { tip.style.display = "none"; return; }
    tip.textContent = t.getAttribute("data-tip");
    tip.style.display = "block";
    tip.style.left = (e.pageX + 14) + "px";
    tip.style.top = (e.pageY + 14) + "px";
  });
  document.addEventListener("toggle", function (e) {
    if (e.target.open) drawShown(e.target);
  }, true);
  return {draw: draw, drawShown: drawShown};
})();
"""

CSS = """
.chart-tip{position:absolute;display:none;pointer-events:none;background:#1d2433;color:#fff;
 padding:5px 8px;border-radius:5px;font-size:12px;white-space:pre-wrap;z-index:10;max-width:520px}
svg .mark:hover{opacity:.75;stroke:#111}
"""
