"""A self-contained interactive flame graph (HTML, or SVG with a script).

The stacks travel as JSON inside the file; a small script draws the frames as
SVG rectangles, zooms into a frame on click (its ancestors stay, greyed),
resets on a click of the root, and searches by substring or regular expression
(matching frames turn purple; the matched share of the total is shown). A link
can carry the view: ``page.html#q=REGEXP&zoom=FRAME``. No network, no external
files.

>>> html = flame_graph_html({"main;outer;spin_here": 9, "main;other": 1}, title="demo")
>>> "spin_here" in html and html.startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import html as _html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import Error
from .profile import KERNEL_SUFFIX, StackProfile


def build_tree(folded: Mapping[str, int]) -> dict[str, Any]:
    """The call tree of folded stacks: ``{"n": name, "v": value, "c": [children]}``,
    children sorted by name (as flamegraph.pl does)."""
    root: dict[str, Any] = {"n": "all", "v": 0, "c": {}}
    for stack, value in folded.items():
        if value <= 0:
            continue
        root["v"] += value
        node = root
        for name in stack.split(";") if stack else []:
            child = node["c"].get(name)
            if child is None:
                child = node["c"][name] = {"n": name, "v": 0, "c": {}}
            child["v"] += value
            node = child

    def finish(node: dict[str, Any]) -> dict[str, Any]:
        kids = [finish(c) for _, c in sorted(node["c"].items())]
        out = {"n": node["n"], "v": node["v"]}
        if kids:
            out["c"] = kids
        return out

    return finish(root)


_SCRIPT = r"""
(function () {
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("fg-data").textContent);
  var svg = document.getElementById("fg");
  var W = 1200, ROW = 17, PAD = 30, FONT = 12, CHAR = 7.0;
  var unit = svg.getAttribute("data-unit") || "samples";
  var depth = 0;
  (function d(n, k) { depth = Math.max(depth, k); (n.c || []).forEach(function (c) { d(c, k + 1); }); })(data, 1);
  var H = depth * ROW + PAD * 2 + 20;
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  var layer = document.createElementNS(NS, "g"); layer.setAttribute("id", "frames");
  svg.appendChild(layer);
  var info = document.createElementNS(NS, "text");
  info.setAttribute("x", 10); info.setAttribute("y", H - 8); info.setAttribute("id", "fg-info");
  info.setAttribute("font-size", FONT); svg.appendChild(info);
  var matched = document.createElementNS(NS, "text");
  matched.setAttribute("x", W - 10); matched.setAttribute("y", H - 8);
  matched.setAttribute("text-anchor", "end"); matched.setAttribute("id", "fg-matched");
  matched.setAttribute("font-size", FONT); svg.appendChild(matched);
  var nodes = [];
  (function walk(n, parent, k) {
    n.p = parent; n.d = k; nodes.push(n);
    (n.c || []).forEach(function (c) { walk(c, n, k + 1); });
  })(data, null, 0);
  function hash(s) { var h = 0; for (var i = 0; i < s.length; i++) { h = (h * 31 + s.charCodeAt(i)) >>> 0; } return h; }
  function color(n) {
    var h = hash(n.n);
    if (/_\[k\]$/.test(n.n)) { return "rgb(" + (200 + h % 55) + "," + (120 + h % 60) + ",60)"; }
    if (n.n.indexOf("[unknown]") === 0) { return "rgb(200,200,200)"; }
    return "rgb(" + (205 + h % 50) + "," + (90 + (h >> 8) % 130) + "," + ((h >> 16) % 55) + ")";
  }
  var focus = data, re = null;
  function inFocus(n) { for (var a = n; a; a = a.p) { if (a === focus) { return true; } } return false; }
  function isAncestorOfFocus(n) { for (var a = focus.p; a; a = a.p) { if (a === n) { return true; } } return false; }
  function fmt(v) { return v.toLocaleString ? v.toLocaleString("en-US") : String(v); }
  function draw() {
    while (layer.firstChild) { layer.removeChild(layer.firstChild); }
    var scale = (W - 20) / focus.v, xs = new Map(), total = 0, hit = 0;
    xs.set(focus, 10);
    nodes.forEach(function (n) {
      var x, w;
      if (n === focus) { x = 10; w = W - 20; }
      else if (isAncestorOfFocus(n)) { x = 10; w = W - 20; }
      else if (inFocus(n)) {
        if (!xs.has(n.p)) { return; }
        var px = xs.get(n.p), off = 0;
        for (var i = 0; i < n.p.c.length && n.p.c[i] !== n; i++) { off += n.p.c[i].v; }
        x = px + off * scale; w = n.v * scale;
      } else { return; }
      xs.set(n, x);
      if (w < 0.3) { return; }
      var y = H - PAD - 20 - (n.d + 1) * ROW;
      var g = document.createElementNS(NS, "g"); g.setAttribute("class", "frame");
      var t = document.createElementNS(NS, "title");
      var pct = (100 * n.v / data.v).toFixed(2);
      t.textContent = n.n + " (" + fmt(n.v) + " " + unit + ", " + pct + "%)";
      g.appendChild(t);
      var r = document.createElementNS(NS, "rect");
      r.setAttribute("x", x.toFixed(1)); r.setAttribute("y", y); r.setAttribute("width", Math.max(w - 0.5, 0.1).toFixed(1));
      r.setAttribute("height", ROW - 1); r.setAttribute("rx", 2);
      var isHit = re && re.test(n.n);
      if (isHit && !hasHitAncestor(n)) { hit += n.v; }
      r.setAttribute("fill", isHit ? "rgb(230,0,230)" : (isAncestorOfFocus(n) ? "rgb(220,220,220)" : color(n)));
      g.appendChild(r);
      var room = Math.floor((w - 6) / CHAR);
      if (room >= 3) {
        var label = n.n.length <= room ? n.n : n.n.slice(0, room - 2) + "..";
        var tx = document.createElementNS(NS, "text");
        tx.setAttribute("x", (x + 3).toFixed(1)); tx.setAttribute("y", y + ROW - 5);
        tx.setAttribute("font-size", FONT); tx.textContent = label;
        g.appendChild(tx);
      }
      g.addEventListener("click", function () { focus = (n === focus && n.p) ? data : n; draw(); });
      g.addEventListener("mouseover", function () { info.textContent = t.textContent; });
      layer.appendChild(g);
    });
    matched.textContent = re ? "Matched: " + (100 * hit / data.v).toFixed(1) + "%" : "";
    svg.setAttribute("data-rendered", String(layer.childNodes.length));
  }
  function hasHitAncestor(n) { for (var a = n.p; a; a = a.p) { if (re.test(a.n)) { return true; } } return false; }
  function search(term) {
    if (!term) { re = null; draw(); return; }
    try { re = new RegExp(term); } catch (e) { re = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")); }
    draw();
  }
  var box = document.getElementById("fg-search");
  if (box) { box.addEventListener("input", function () { search(box.value); }); }
  else {
    var s = document.createElementNS(NS, "text");
    s.setAttribute("x", W - 10); s.setAttribute("y", 20); s.setAttribute("text-anchor", "end");
    s.setAttribute("font-size", FONT); s.textContent = "Search"; s.style.cursor = "pointer";
    s.addEventListener("click", function () { search(window.prompt("Search (regexp)", "") || ""); });
    svg.appendChild(s);
  }
  var reset = document.getElementById("fg-reset");
  if (reset) { reset.addEventListener("click", function () { focus = data; draw(); }); }
  window.flamegraph = { search: search, zoom: function (name) {
    for (var i = 0; i < nodes.length; i++) { if (nodes[i].n === name) { focus = nodes[i]; break; } } draw(); },
    reset: function () { focus = data; draw(); } };
  // a link can carry the view: #q=REGEXP (search) and/or #zoom=FRAME (zoomed in)
  var params = {};
  (window.location.hash || "").replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("="); if (i > 0) { params[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); }
  });
  if (params.zoom) { for (var i = 0; i < nodes.length; i++) { if (nodes[i].n === params.zoom) { focus = nodes[i]; break; } } }
  if (params.q) { if (box) { box.value = params.q; } search(params.q); } else { draw(); }
})();
"""


def _data_json(tree: dict[str, Any]) -> str:
    # safe inside <script>: no "</" can close the element early
    return json.dumps(tree, separators=(",", ":")).replace("</", "<\\/")


def flame_graph_html(folded: Mapping[str, int], *, title: str = "Flame Graph",
                     unit: str = "samples") -> str:
    """An HTML page with the interactive flame graph of ``folded`` stacks."""
    tree = build_tree(folded)
    t = _html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<style>
body {{ font-family: Verdana, sans-serif; margin: 8px; background: #fff; }}
#fg text {{ font-family: Verdana, sans-serif; pointer-events: none; fill: #000; }}
#fg .frame {{ cursor: pointer; }} #fg .frame:hover rect {{ stroke: #000; stroke-width: 0.5; }}
header {{ display: flex; gap: 12px; align-items: center; }}
</style></head>
<body>
<header><h3 style="margin:4px 0">{t}</h3>
<input id="fg-search" type="search" placeholder="search (regexp)" aria-label="search">
<button id="fg-reset" type="button">reset zoom</button>
<span>{tree["v"]:,} {_html.escape(unit)}</span></header>
<svg id="fg" xmlns="http://www.w3.org/2000/svg" data-unit="{_html.escape(unit)}"></svg>
<script type="application/json" id="fg-data">{_data_json(tree)}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def flame_graph_svg(folded: Mapping[str, int], *, title: str = "Flame Graph",
                    unit: str = "samples") -> str:
    """A standalone SVG document with the same interactive flame graph (click
    ``Search`` to search)."""
    tree = build_tree(folded)
    t = _html.escape(title)
    return f"""<?xml version="1.0" standalone="no"?>
<svg id="fg" version="1.1" xmlns="http://www.w3.org/2000/svg" data-unit="{_html.escape(unit)}"
 font-family="Verdana, sans-serif" width="1200" height="200">
<style>.frame {{ cursor: pointer; }} text {{ pointer-events: none; }}</style>
<rect x="0" y="0" width="100%" height="100%" fill="#fff"/>
<text x="600" y="20" text-anchor="middle" font-size="16">{t}</text>
<script type="application/json" id="fg-data"><![CDATA[{_data_json(tree)}]]></script>
<script type="text/ecmascript"><![CDATA[{_SCRIPT}]]></script>
</svg>
"""


def write_flame_graph(source: StackProfile | Mapping[str, int], path: str | Path, *,
                      title: str = "Flame Graph", unit: str | None = None) -> Path:
    """Write a flame graph of ``source`` (a profile or folded counts) to ``path``:
    SVG when the name ends in ``.svg``, else HTML."""
    if isinstance(source, StackProfile):
        folded = source.folded_counts()
        unit = unit or source.unit
    else:
        folded = dict(source)
    unit = unit or "samples"
    p = Path(path)
    text = (flame_graph_svg if p.suffix.lower() == ".svg" else flame_graph_html)(
        folded, title=title, unit=unit)
    try:
        p.write_text(text, encoding="utf-8")
    except OSError as e:
        raise Error(f"writing flame graph {p}: {e.strerror}") from None
    return p


__all__ = ["KERNEL_SUFFIX", "build_tree", "flame_graph_html", "flame_graph_svg",
           "write_flame_graph"]
