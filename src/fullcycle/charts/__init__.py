"""fullcycle's one chart module: inline SVG for every page it writes, in one style.

`charts.svg` draws report-size charts (line, scatter, histogram, bars, heatmap with a colour
scale, SHAP beeswarm); `charts.small` draws table-cell and dashboard charts (distribution
overlays, time lines, counts) with the same axes, units and colours. Foundation layer: plain
numbers in, SVG text out; no stage imports."""
