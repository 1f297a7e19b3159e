/* fullcycle EDA report: a tiny SVG renderer for the plot specs in #plot-data, drawn lazily when
   their section is visible, plus search, expand/collapse and hover tooltips. No dependencies. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var SPECS = JSON.parse(document.getElementById("plot-data").textContent || "{}");
  var PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b",
                 "#9d755d", "#ff9da6", "#bab0ac"];

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]); }
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function fmt(v) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) return "–";
    if (typeof v !== "number") return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
    if (Math.round(v) === v) return v.toLocaleString("en-US");
    return Number(v.toPrecision(4)).toLocaleString("en-US", {maximumFractionDigits: 4});
  }
  function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"; }
  function date(days) { return new Date(days * 864e5).toISOString().slice(0, 10); }
  function short(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function valueText(spec, v) {
    return spec.unit === "share" || spec.unit === "rate" ? pct(v) : fmt(v);
  }
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(t);
    return out;
  }
  function svg(div, width, height) {
    return el("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height,
                      role: "img"}, div);
  }
  function tipped(node, text) { node.setAttribute("data-tip", text); return node; }
  function title(div, spec) {
    if (!spec.title) return;
    var h = document.createElement("div");
    h.className = "plot-title";
    h.textContent = spec.title;
    div.appendChild(h);
  }

  function bars(div, spec) {
    var n = spec.labels.length, row = 18, left = 130, width = 370, right = 60;
    var s = svg(div, width, n * row + 8);
    var vals = spec.values.map(function (v) { return v === null ? 0 : v; });
    var max = Math.max.apply(null, vals.concat([spec.overall || 0, 1e-12]));
    var scale = (width - left - right) / max;
    spec.labels.forEach(function (label, i) {
      var y = 4 + i * row, v = spec.values[i];
      el("text", {x: left - 6, y: y + 12, "text-anchor": "end", "class": "lab"}, s, short(label, 22));
      var tip = label + ": " + valueText(spec, v) + (spec.counts ? " (" + fmt(spec.counts[i]) + " rows)" : "");
      tipped(el("rect", {x: left, y: y + 2, width: Math.max(1, vals[i] * scale), height: row - 5,
                         fill: PALETTE[0], "class": "mark"}, s), tip);
      el("text", {x: left + vals[i] * scale + 4, y: y + 12, "class": "val"}, s, valueText(spec, v));
    });
    if (spec.overall !== undefined && spec.overall !== null) {
      var x = left + spec.overall * scale;
      tipped(el("line", {x1: x, x2: x, y1: 0, y2: n * row + 8, "class": "ref"}, s),
             "overall: " + valueText(spec, spec.overall));
    }
  }

  function hist(div, spec) {
    var width = 370, height = 190, left = 46, bottom = 34, top = 8;
    var s = svg(div, width, height), n = spec.counts.length;
    var max = Math.max.apply(null, spec.counts.concat([1]));
    var plotH = height - bottom - top, bw = (width - left - 10) / n;
    var label = function (v) { return spec.dates ? date(v) : fmt(v); };
    spec.counts.forEach(function (c, i) {
      var h = c / max * plotH;
      var what = spec.edges ? label(spec.edges[i]) + " – " + label(spec.edges[i + 1]) : label(spec.values[i]);
      tipped(el("rect", {x: left + i * bw + 1, y: top + plotH - h, width: Math.max(1, bw - 2),
                         height: Math.max(h, 0.5), fill: PALETTE[0], "class": "mark"}, s),
             what + ": " + fmt(c) + " rows");
      if (!spec.edges && n <= 15) {
        el("text", {x: left + (i + 0.5) * bw, y: height - bottom + 14, "text-anchor": "middle",
                    "class": "lab"}, s, short(label(spec.values[i]), 10));
      }
    });
    if (spec.edges) {
      var lo = spec.edges[0], hi = spec.edges[n];
      ticks(lo, hi, 5).forEach(function (t) {
        var x = left + (t - lo) / (hi - lo) * (width - left - 10);
        el("line", {x1: x, x2: x, y1: top + plotH, y2: top + plotH + 4, "class": "axis"}, s);
        el("text", {x: x, y: height - bottom + 16, "text-anchor": "middle", "class": "lab"}, s, label(t));
      });
    }
    yAxis(s, left, top, plotH, 0, max, width);
  }

  function yAxis(s, left, top, plotH, lo, hi, width) {
    ticks(lo, hi, 4).forEach(function (t) {
      var y = top + plotH - (t - lo) / ((hi - lo) || 1) * plotH;
      el("line", {x1: left, x2: width - 10, y1: y, y2: y, "class": "grid"}, s);
      el("text", {x: left - 4, y: y + 4, "text-anchor": "end", "class": "lab"}, s, fmt(t));
    });
  }

  function box(div, spec) {
    var row = 34, left = 100, width = 370, n = spec.boxes.length;
    var s = svg(div, width, n * row + 30);
    var lo = Math.min.apply(null, spec.boxes.map(function (b) { return b.lo; }));
    var hi = Math.max.apply(null, spec.boxes.map(function (b) { return b.hi; }));
    if (!(hi > lo)) { hi = lo + 1; }
    var x = function (v) { return left + (v - lo) / (hi - lo) * (width - left - 20); };
    spec.boxes.forEach(function (b, i) {
      var y = 6 + i * row, mid = y + row / 2 - 4, c = PALETTE[i % PALETTE.length];
      var tip = b.label + " (n=" + fmt(b.n) + ")\nmin " + fmt(b.min) + " · q1 " + fmt(b.q1) +
                " · median " + fmt(b.median) + " · q3 " + fmt(b.q3) + " · max " + fmt(b.max) +
                "\nmean " + fmt(b.mean);
      el("text", {x: left - 6, y: mid + 4, "text-anchor": "end", "class": "lab"}, s, short(b.label, 18));
      el("line", {x1: x(b.lo), x2: x(b.hi), y1: mid, y2: mid, stroke: c}, s);
      tipped(el("rect", {x: x(b.q1), y: y + 4, width: Math.max(1, x(b.q3) - x(b.q1)),
                         height: row - 16, fill: c, "fill-opacity": 0.35, stroke: c,
                         "class": "mark"}, s), tip);
      el("line", {x1: x(b.median), x2: x(b.median), y1: y + 4, y2: y + row - 12, stroke: c,
                  "stroke-width": 2}, s);
      tipped(el("circle", {cx: x(b.mean), cy: mid, r: 3, fill: "#222"}, s), "mean " + fmt(b.mean));
    });
    ticks(lo, hi, 5).forEach(function (t) {
      el("text", {x: x(t), y: n * row + 24, "text-anchor": "middle", "class": "lab"}, s, fmt(t));
    });
  }

  function line(div, spec) {
    var width = 370, height = 220, left = 56, bottom = 60, top = 10;
    var s = svg(div, width, height), n = spec.values.length, plotH = height - bottom - top;
    var vals = spec.values.filter(function (v) { return v !== null; }).concat(
      spec.overall !== null && spec.overall !== undefined ? [spec.overall] : []);
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    var step = (width - left - 10) / Math.max(n, 1);
    var x = function (i) { return left + (i + 0.5) * step; };
    var y = function (v) { return top + plotH - (v - lo) / (hi - lo) * plotH; };
    yAxis(s, left, top, plotH, lo, hi, width);
    var pts = [];
    spec.values.forEach(function (v, i) { if (v !== null) pts.push(x(i) + "," + y(v)); });
    el("polyline", {points: pts.join(" "), fill: "none", stroke: PALETTE[0], "stroke-width": 2}, s);
    spec.values.forEach(function (v, i) {
      if (v === null) return;
      tipped(el("circle", {cx: x(i), cy: y(v), r: 4, fill: PALETTE[0], "class": "mark"}, s),
             spec.labels[i] + ": mean " + fmt(v) + " (" + fmt(spec.counts[i]) + " rows)");
      var t = el("text", {x: x(i), y: height - bottom + 12, "class": "lab", "text-anchor": "end",
                          transform: "rotate(-35 " + x(i) + " " + (height - bottom + 12) + ")"}, s,
                 short(spec.labels[i], 16));
      tipped(t, spec.labels[i]);
    });
    if (spec.overall !== null && spec.overall !== undefined) {
      tipped(el("line", {x1: left, x2: width - 10, y1: y(spec.overall), y2: y(spec.overall),
                         "class": "ref"}, s), "overall mean " + fmt(spec.overall));
    }
  }

  function heat(div, spec) {
    var nr = spec.rows.length, nc = spec.cols.length, left = 150, top = 110;
    var cell = Math.max(8, Math.min(30, Math.floor(560 / Math.max(nc, 1))));
    var width = left + nc * cell + 90, height = Math.max(top + nr * cell + 10, top + 150);
    var s = svg(div, width, height);
    var color = function (v) {
      if (v === null) return "#eee";
      var a = Math.min(1, Math.abs(v));
      var base = spec.signed && v < 0 ? [202, 0, 32] : [5, 113, 176];
      var c = base.map(function (b) { return Math.round(255 - (255 - b) * a); });
      return "rgb(" + c.join(",") + ")";
    };
    spec.cols.forEach(function (name, j) {
      var x = left + j * cell + cell / 2;
      tipped(el("text", {x: x, y: top - 4, "class": "lab", transform: "rotate(-55 " + x + " " + (top - 4) + ")"},
                s, short(name, 18)), name);
    });
    spec.rows.forEach(function (name, i) {
      tipped(el("text", {x: left - 4, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", "class": "lab"},
                s, short(name, 22)), name);
      spec.values[i].forEach(function (v, j) {
        tipped(el("rect", {x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1,
                           fill: color(v), "class": "cell"}, s),
               name + " × " + spec.cols[j] + ": " + fmt(v));
        if (cell >= 20 && v !== null) {  // the value itself, when the cell has room for it
          el("text", {x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 + 3,
                      "text-anchor": "middle", "font-size": 8,
                      fill: Math.abs(v) > 0.6 ? "#fff" : "#111"}, s, v.toFixed(2).replace("0.", "."));
        }
      });
    });
    // colour scale: what a shade means
    var bx = left + nc * cell + 14, bh = Math.max(nr * cell, 140), lo = spec.signed ? -1 : 0;
    for (var k = 0; k < 20; k++) {
      var v = 1 - (1 - lo) * (k + 0.5) / 20;
      el("rect", {x: bx, y: top + bh * k / 20, width: 12, height: bh / 20 + 0.5, fill: color(v)}, s);
    }
    el("rect", {x: bx, y: top, width: 12, height: bh, fill: "none", stroke: "#999"}, s);
    (spec.signed ? [1, 0, -1] : [1, 0.5, 0]).forEach(function (t) {
      el("text", {x: bx + 16, y: top + (1 - t) / (1 - lo) * bh + 4, "class": "lab"}, s, String(t));
    });
    el("text", {x: bx, y: top - 8, "class": "lab"}, s, spec.signed ? "correlation" : "strength");
  }

  function stack(div, spec) {
    var row = 18, left = 130, width = 370, n = spec.labels.length;
    var s = svg(div, width, n * row + 26), w = width - left - 20;
    spec.labels.forEach(function (label, i) {
      var y = 4 + i * row, x = left;
      el("text", {x: left - 6, y: y + 12, "text-anchor": "end", "class": "lab"}, s, short(label, 22));
      spec.shares[i].forEach(function (share, k) {
        tipped(el("rect", {x: x, y: y + 2, width: Math.max(0, share * w), height: row - 5,
                           fill: PALETTE[k % PALETTE.length], "class": "mark"}, s),
               label + " → " + spec.classes[k] + ": " + pct(share) + " of " + fmt(spec.counts[i]) + " rows");
        x += share * w;
      });
    });
    var lx = left;
    spec.classes.slice(0, 10).forEach(function (name, k) {
      el("rect", {x: lx, y: n * row + 12, width: 10, height: 10, fill: PALETTE[k % PALETTE.length]}, s);
      el("text", {x: lx + 14, y: n * row + 21, "class": "lab"}, s, short(name, 12));
      lx += 24 + 7 * Math.min(String(name).length, 12);
    });
  }

  function trend(div, spec) {
    var width = 560, height = 220, left = 50, bottom = 30, top = 10;
    var s = svg(div, width, height), n = spec.starts.length, plotH = height - bottom - top;
    var step = (width - left - 10) / n;
    var x = function (i) { return left + (i + 0.5) * step; };
    var cmax = Math.max.apply(null, spec.counts.concat([1]));
    spec.counts.forEach(function (c, i) {
      var h = c / cmax * plotH * 0.35;
      tipped(el("rect", {x: left + i * step + 1, y: top + plotH - h, width: Math.max(1, step - 2), height: h,
                         fill: "#ddd"}, s), "from " + date(spec.starts[i]) + ": " + fmt(c) + " rows");
    });
    spec.series.forEach(function (ser, k) {
      var vals = ser.values.filter(function (v) { return v !== null; });
      var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
      if (!(hi > lo)) { lo -= 1; hi += 1; }
      var y = function (v) { return top + plotH - (v - lo) / (hi - lo) * plotH; };
      var pts = [];
      ser.values.forEach(function (v, i) {
        if (v === null) return;
        pts.push(x(i) + "," + y(v));
        tipped(el("circle", {cx: x(i), cy: y(v), r: 3, fill: PALETTE[k], "class": "mark"}, s),
               ser.name + " from " + date(spec.starts[i]) + ": " + fmt(v));
      });
      el("polyline", {points: pts.join(" "), fill: "none", stroke: PALETTE[k], "stroke-width": 2}, s);
      el("text", {x: left + 4 + 170 * k, y: height - 8, fill: PALETTE[k], "class": "lab"}, s, short(ser.name, 26));
    });
    el("text", {x: left, y: height - 20, "class": "lab"}, s, date(spec.starts[0]));
    el("text", {x: width - 10, y: height - 20, "class": "lab", "text-anchor": "end"}, s, date(spec.starts[n - 1]));
  }

  // Labels never run off their chart: shorten (with "…") any text outside the drawing, and keep
  // the full text as its tooltip. The browser test checks every page for clipped text.
  function fitLabels(s) {
    var width = +s.getAttribute("width"), height = +s.getAttribute("height");
    var texts = s.querySelectorAll("text");
    for (var i = 0; i < texts.length; i++) {
      var t = texts[i], full = t.textContent, box = t.getBBox();
      if (t.getAttribute("transform")) continue;  // turned labels are sized by their caller
      var guard = full.length;
      while ((box.x < 0 || box.x + box.width > width) && t.textContent.length > 4 && guard-- > 0) {
        t.textContent = t.textContent.replace(/…$/, "").slice(0, -1) + "…";
        box = t.getBBox();
      }
      if (t.textContent !== full && !t.getAttribute("data-tip")) tipped(t, full);
    }
    return height;
  }

  var DRAW = {bars: bars, hist: hist, box: box, line: line, heat: heat, stack: stack, trend: trend};

  function draw(div) {
    div.setAttribute("data-done", "1");
    var spec = SPECS[div.getAttribute("data-plot")];
    if (!spec || !DRAW[spec.type]) { div.textContent = "(no plot)"; return; }
    title(div, spec);
    DRAW[spec.type](div, spec);
    var drawn = div.querySelectorAll("svg");
    for (var k = 0; k < drawn.length; k++) fitLabels(drawn[k]);
  }
  // Shown = every enclosing <details> is open (Chromium lays out closed details content, so
  // offsetParent cannot tell) and no enclosing element is filtered out by the search.
  function shown(node) {
    for (var p = node.parentElement; p; p = p.parentElement) {
      if ((p.tagName === "DETAILS" && !p.open) || p.style.display === "none") return false;
    }
    return true;
  }
  function renderVisible(root) {
    var nodes = root.querySelectorAll(".plot:not([data-done])");
    for (var i = 0; i < nodes.length; i++) {
      if (shown(nodes[i])) draw(nodes[i]);
    }
  }

  // Tooltips: one floating box follows the pointer over anything with data-tip.
  var tip = document.createElement("div");
  tip.className = "tip";
  document.body.appendChild(tip);
  document.addEventListener("mousemove", function (e) {
    var t = e.target && e.target.closest ? e.target.closest("[data-tip]") : null;
    if (!t) { tip.style.display = "none"; return; }
    tip.textContent = t.getAttribute("data-tip");
    tip.style.display = "block";
    tip.style.left = (e.pageX + 14) + "px";
    tip.style.top = (e.pageY + 14) + "px";
  });

  // Lazy rendering: a section's plots are drawn the first time it is opened.
  document.addEventListener("toggle", function (e) {
    if (e.target.open) renderVisible(e.target);
  }, true);

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
  renderVisible(document);
})();
