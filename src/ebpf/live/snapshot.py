"""Maps read once for the live view: which maps are shown, and a map's
content as table rows or histograms (:class:`MapSnapshot`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import Error
from ..histogram import Histogram, _slots_of, looks_like_histogram
from ..uapi import MapType
from .format import columns_of, jsonable, sort_weight, sum_per_cpu, table, text_of

log = logging.getLogger("ebpf.live")

#: maps the view never shows as tables (their content is not key → value data)
_HIDDEN_TYPES = frozenset({
    MapType.RINGBUF, MapType.PERF_EVENT_ARRAY, MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS, MapType.CGROUP_ARRAY, MapType.STACK_TRACE, MapType.DEVMAP,
    MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH,
    MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.USER_RINGBUF,
})
_GLOBAL_SECTIONS = (".data", ".bss", ".rodata", ".kconfig")


def shown_maps(obj: Any) -> list[Any]:
    """The maps of an object worth a table (no ring buffers, program arrays,
    global-data maps)."""
    out = []
    for name, m in obj.maps.items():
        if m.type in _HIDDEN_TYPES or name.startswith(_GLOBAL_SECTIONS) or \
                getattr(m.spec, "section", "").startswith(_GLOBAL_SECTIONS):
            continue
        out.append(m)
    return out


@dataclass
class MapSnapshot:
    """A map read once: table rows or histograms, ready to print."""

    name: str
    kind: str  # "table" | "histogram" | "error"
    entries: list[tuple[Any, Any]] = field(default_factory=list)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    error: str = ""

    def lines(self, limit: int | None = None) -> list[str]:
        """The snapshot as text lines (tables capped to ``limit`` rows)."""
        if self.kind == "error":
            return [f"{self.name}: {self.error}"]
        if self.kind == "histogram":
            out = []
            for title, h in self.histograms.items():
                out.append(f"{self.name}" + (f" [{title}]" if title else "") +
                           f": {h.total} values")
                out.extend(h.render(trim=True).splitlines())
            return out
        if not self.entries:
            return [f"{self.name}: (empty)"]
        entries = self.entries if limit is None else self.entries[:limit]
        kcols = columns_of(entries[0][0])
        vcols = columns_of(entries[0][1])
        header = [k or "KEY" for k, _ in kcols] + [v or "VALUE" for v, _ in vcols]
        header = [h.upper() for h in header]
        rows = []
        for k, v in entries:
            kc, vc = columns_of(k), columns_of(v)
            if len(kc) != len(kcols) or len(vc) != len(vcols):  # ragged: fall back to text
                kc, vc = [("", text_of(k))], [("", text_of(v))]
                kc += [("", "")] * (len(kcols) - 1)
                vc += [("", "")] * (len(vcols) - 1)
            rows.append([c for _, c in kc] + [c for _, c in vc])
        out = [f"{self.name}: {len(self.entries)} entries"]
        out += ["  " + ln for ln in table(rows, header)]
        if limit is not None and len(self.entries) > limit:
            out.append(f"  ... {len(self.entries) - limit} more")
        return out

    def to_json(self) -> dict[str, Any]:
        if self.kind == "histogram":
            return {"type": "histogram", "map": self.name,
                    "histograms": {t: [list(b) for b in h.buckets]
                                   for t, h in self.histograms.items()}}
        if self.kind == "error":
            return {"type": "map", "map": self.name, "error": self.error}
        return {"type": "map", "map": self.name,
                "entries": [{"key": jsonable(k), "value": jsonable(v)} for k, v in self.entries]}


def snapshot(m: Any, unit: str = "value") -> MapSnapshot:
    """Read a map now: a histogram when it looks like one, else a table sorted
    by counter (largest first; by key when the values are not counters)."""
    try:
        items = list(m.items())
    except Error as e:
        return MapSnapshot(m.name, "error", error=str(e))
    if getattr(m, "per_cpu", False):
        items = [(k, sum_per_cpu(v) if isinstance(v, list) else v) for k, v in items]
    if looks_like_histogram(m):
        try:
            structured = [(k, _slots_of(v)) for k, v in items]
            if items and all(s is not None for _, s in structured) and len(items) > 1:
                hists = {text_of(k): Histogram(s or [], unit=unit) for k, s in structured}
            else:
                hists = {"": Histogram.from_map(m, unit=unit, title=m.name)}
            return MapSnapshot(m.name, "histogram", histograms=hists)
        except Error as e:
            log.debug("map %s is not a histogram after all: %s", m.name, e)
    maybe = [sort_weight(v) for _, v in items]
    weights = [w for w in maybe if w is not None]
    if items and len(weights) == len(items):
        order = sorted(range(len(items)), key=lambda i: (-weights[i], _key_order(items[i][0])))
        entries = [items[i] for i in order]
    else:
        entries = sorted(items, key=lambda kv: _key_order(kv[0]))
    if m.type in (MapType.ARRAY, MapType.PERCPU_ARRAY) and len(entries) > 16:
        # big arrays: hide all-zero slots
        entries = [(k, v) for k, v in entries if sort_weight(v) != 0] or entries[:0]
    return MapSnapshot(m.name, "table", entries=entries)


def _key_order(k: Any) -> tuple:
    if isinstance(k, int):
        return (0, k, "")
    return (1, 0, text_of(k))
