"""Log2 (and linear) histograms, as the classic BPF tools print them.

A BPF program counts values into power-of-two *slots*: slot ``i`` holds the
values ``v`` with ``floor(log2(v)) == i`` (0 and 1 share slot 0), usually in an
array map indexed by slot, a hash map keyed by slot, or a struct with a
``slots`` array. :class:`Histogram` reads such a map and renders it::

         usecs               : count    distribution
             0 -> 1          : 0        |                                        |
             2 -> 3          : 4        |**********                              |
             4 -> 7          : 16       |****************************************|

>>> h = Histogram([0, 4, 16], unit="usecs")
>>> h.total, h.buckets[1]
(20, Bucket(low=2, high=3, count=4))
>>> print(h.render(width=10))
     usecs               : count    distribution
         0 -> 1          : 0        |          |
         2 -> 3          : 4        |**        |
         4 -> 7          : 16       |**********|
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from .errors import MapError, NotSupportedError

#: the most slots a log2 histogram of 64-bit values can need
MAX_SLOTS = 65


class Bucket(NamedTuple):
    """One slot: values ``low``..``high`` (inclusive) were seen ``count`` times."""

    low: int
    high: int
    # the field shadows tuple.count (a method) on purpose: it is the public name
    count: int  # type: ignore[assignment]


def slot_of(value: int) -> int:
    """The log2 slot of a value: ``floor(log2(value))``, 0 for 0 and 1.

    >>> [slot_of(v) for v in (0, 1, 2, 3, 4, 1000)]
    [0, 0, 1, 1, 2, 9]
    """
    if value < 0:
        raise ValueError(f"log2 slots hold non-negative values, not {value}")
    return max(int(value).bit_length() - 1, 0)


def slot_range(slot: int) -> tuple[int, int]:
    """The values slot ``slot`` covers, inclusive.

    >>> slot_range(0), slot_range(1), slot_range(10)
    ((0, 1), (2, 3), (1024, 2047))
    """
    if slot < 0:
        raise ValueError(f"negative slot {slot}")
    if slot == 0:
        return 0, 1
    return 1 << slot, (1 << (slot + 1)) - 1


def _as_count(value: Any, where: str) -> int:
    """A slot count from a decoded map value: int, per-CPU list, raw bytes."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (bytes, bytearray)):
        if len(value) not in (1, 2, 4, 8):
            raise MapError(f"{where}: a {len(value)}-byte value is not a slot counter")
        return int.from_bytes(value, "little")
    if isinstance(value, (list, tuple)):  # per-CPU: one counter per CPU
        return sum(_as_count(v, where) for v in value)
    raise MapError(f"{where}: cannot read a slot counter from {type(value).__name__}")


def _slots_of(value: Any) -> list[int] | None:
    """The ``slots`` array of a decoded struct value, or None."""
    fields = getattr(value, "_fields", None)
    if isinstance(value, Mapping):
        fields = value
    if not fields or "slots" not in fields:
        return None
    slots = fields["slots"]
    if not isinstance(slots, (list, tuple)):
        return None
    return [_as_count(v, "slots") for v in slots]


class Histogram:
    """A log2 histogram: ``counts[i]`` is the number of values in slot ``i``.

    Build one from counts, from raw values (:meth:`from_values`) or from a map
    (:meth:`from_map`); print :meth:`render`; plot with :meth:`save_png`.
    """

    def __init__(self, counts: Sequence[int] | Mapping[int, int] = (), *, unit: str = "value",
                 title: str = "", step: int | None = None):
        if step is not None and step <= 0:
            raise ValueError(f"a linear histogram needs a positive step, not {step}")
        #: None for log2 slots; else the width of each linear slot
        self.step = step
        if isinstance(counts, Mapping):
            size = max((int(k) + 1 for k in counts), default=0)
            if step is None and size > MAX_SLOTS:
                raise ValueError(f"slot {size - 1} is beyond the {MAX_SLOTS} slots of a log2 "
                                 "histogram")
            dense = [0] * size
            for k, v in counts.items():
                if int(k) < 0:
                    raise ValueError(f"negative slot {k}")
                dense[int(k)] += int(v)
            counts = dense
        self.counts: list[int] = [int(c) for c in counts]
        if any(c < 0 for c in self.counts):
            raise ValueError("negative slot count")
        self.unit = unit
        self.title = title

    # ---- constructors -----------------------------------------------------
    @classmethod
    def from_values(cls, values: Iterable[int], *, unit: str = "value",
                    title: str = "", step: int | None = None) -> Histogram:
        """Count raw values into slots (what the BPF side does with log2(), or
        with ``value / step`` for a linear histogram).

        >>> Histogram.from_values([1, 2, 3, 900]).counts
        [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
        >>> Histogram.from_values([1, 12, 15], step=10).counts
        [1, 2]
        """
        dense: dict[int, int] = {}
        for v in values:
            if step is None:
                s = slot_of(v)
            elif v < 0:
                raise ValueError(f"histogram slots hold non-negative values, not {v}")
            else:
                s = v // step if step else 0
            dense[s] = dense.get(s, 0) + 1
        return cls(dense, unit=unit, title=title, step=step)

    @classmethod
    def from_map(cls, m: Any, *, unit: str = "value", key: Any = None,
                 title: str | None = None, step: int | None = None) -> Histogram:
        """Read a histogram from a map of any backend.

        Accepted shapes: an array (or per-CPU array) indexed by slot, a hash keyed
        by slot, or a map whose value is a struct with a ``slots`` array (the
        entry at ``key``, by default the only/first entry). Per-CPU counters are
        summed. ``step`` makes it a linear histogram (slot ``i`` holds values
        ``i*step`` to ``(i+1)*step - 1``).
        """
        limit = MAX_SLOTS if step is None else 1 << 20
        name = getattr(m, "name", "map")
        title = name if title is None else title
        try:
            items = list(m.items()) if key is None else [(key, m[key])]
        except KeyError:
            raise MapError(f"map {name}: no histogram at key {key!r}") from None
        if not items:
            return cls([], unit=unit, title=title, step=step)
        structured = [(k, _slots_of(v)) for k, v in items]
        if all(s is not None for _, s in structured):
            if len(structured) > 1:
                # several histograms in one map: merge them
                merged: list[int] = []
                for _, slots in structured:
                    assert slots is not None
                    merged.extend([0] * (len(slots) - len(merged)))
                    for i, c in enumerate(slots):
                        merged[i] += c
                return cls(merged, unit=unit, title=title, step=step)
            return cls(structured[0][1] or [], unit=unit, title=title, step=step)
        dense: dict[int, int] = {}
        for k, v in items:
            if not isinstance(k, int):
                raise MapError(f"map {name}: key {k!r} is not a slot number; a log2 histogram "
                               "map is keyed by slot (u32) or holds a struct with 'slots'")
            if k >= limit or k < 0:
                if _as_count(v, f"map {name}") == 0:
                    continue  # spare zero entries of a large array
                raise MapError(f"map {name}: slot {k} is beyond the {limit} slots of a "
                               f"{'log2' if step is None else 'linear'} histogram")
            dense[k] = dense.get(k, 0) + _as_count(v, f"map {name}[{k}]")
        return cls(dense, unit=unit, title=title, step=step)

    @classmethod
    def per_key(cls, m: Any, *, unit: str = "value") -> dict[Any, Histogram]:
        """One histogram per key of a map whose values hold a ``slots`` array
        (e.g. latency per process, as ``-P`` options of the classic tools do)."""
        out: dict[Any, Histogram] = {}
        for k, v in m.items():
            slots = _slots_of(v)
            if slots is None:
                raise MapError(f"map {getattr(m, 'name', 'map')}: value at {k!r} has no "
                               "'slots' array")
            out[k] = cls(slots, unit=unit, title=str(k))
        return out

    # ---- reading ----------------------------------------------------------
    @property
    def total(self) -> int:
        """Number of values counted."""
        return sum(self.counts)

    @property
    def buckets(self) -> list[Bucket]:
        """Slots from 0 to the last non-empty one, with their value ranges."""
        last = max((i for i, c in enumerate(self.counts) if c), default=-1)
        if self.step is not None:
            st = self.step
            return [Bucket(i * st, (i + 1) * st - 1, self.counts[i]) for i in range(last + 1)]
        return [Bucket(*slot_range(i), self.counts[i]) for i in range(last + 1)]

    def percentile(self, p: float) -> int:
        """Upper bound of the slot holding the ``p``-th percentile (0 < p <= 100).

        >>> Histogram([0, 4, 16]).percentile(50)
        7
        """
        if not 0 < p <= 100:
            raise ValueError("percentile must be in (0, 100]")
        if not self.total:
            raise ValueError("percentile of an empty histogram")
        need = self.total * p / 100.0
        seen = 0
        for b in self.buckets:
            seen += b.count
            if seen >= need:
                return b.high
        return self.buckets[-1].high  # pragma: no cover - rounding guard

    def _check_same_kind(self, other: Histogram) -> None:
        if self.step != other.step:
            raise ValueError("cannot combine histograms with different slots "
                             f"(step {self.step} and {other.step})")

    def __add__(self, other: Histogram) -> Histogram:
        self._check_same_kind(other)
        n = max(len(self.counts), len(other.counts))
        a = self.counts + [0] * (n - len(self.counts))
        b = other.counts + [0] * (n - len(other.counts))
        return Histogram([x + y for x, y in zip(a, b, strict=True)], unit=self.unit,
                         title=self.title, step=self.step)

    def __sub__(self, other: Histogram) -> Histogram:
        """The counts added since ``other`` (an earlier snapshot of the same map)."""
        self._check_same_kind(other)
        n = max(len(self.counts), len(other.counts))
        a = self.counts + [0] * (n - len(self.counts))
        b = other.counts + [0] * (n - len(other.counts))
        return Histogram([max(x - y, 0) for x, y in zip(a, b, strict=True)], unit=self.unit,
                         title=self.title, step=self.step)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.step == other.step and self.buckets == other.buckets

    def __repr__(self) -> str:
        kind = "log2" if self.step is None else f"linear step={self.step}"
        return (f"<Histogram {self.title or self.unit} {kind} total={self.total} "
                f"slots={len(self.buckets)}>")

    # ---- output -----------------------------------------------------------
    def render(self, width: int = 40, unit: str | None = None, trim: bool = False) -> str:
        """The histogram as text, like the classic tools print it (``width``
        stars for the largest slot; ``trim`` leaves out the empty slots before
        the first value). Empty: a one-line note."""
        unit = self.unit if unit is None else unit
        buckets = self.buckets
        if trim:
            first = next((i for i, b in enumerate(buckets) if b.count), len(buckets))
            buckets = buckets[first:]
        if not buckets:
            return f"     {unit:<19} : count    distribution\n     (no values)"
        peak = max(b.count for b in buckets)
        if self.step is not None:  # linear: one value column, as the classic tools print it
            lines = [f"     {unit:<13} : count     distribution"]
            for b in buckets:
                stars = b.count * width // peak if peak else 0
                lines.append(f"        {b.low:<10} : {b.count:<8} |{('*' * stars).ljust(width)}|")
            return "\n".join(lines)
        wide = buckets[-1].high >= 1 << 32
        if wide:  # 64-bit ranges need wider columns; keep the bar narrower
            width = max(width // 2, 1)
            lines = [f"               {unit:<29} : count    distribution"]
            fmt = "{:>20} -> {:<20} : {:<8} |{}|"
        else:
            lines = [f"     {unit:<19} : count    distribution"]
            fmt = "{:>10} -> {:<10} : {:<8} |{}|"
        for b in buckets:
            stars = b.count * width // peak if peak else 0
            lines.append(fmt.format(b.low, b.high, b.count, ("*" * stars).ljust(width)))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def save_png(self, path: str | Path, *, title: str | None = None) -> Path:
        """Plot the histogram as a bar chart to a PNG (needs matplotlib:
        ``pip install ebpf[plot]``)."""
        try:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise NotSupportedError(
                "PNG plots", detail="matplotlib is not installed: pip install ebpf[plot]"
            ) from None
        buckets = self.buckets
        labels = [f"{b.low}-{b.high}" for b in buckets]
        fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(buckets) + 2), 3.5))
        try:
            ax.bar(range(len(buckets)), [b.count for b in buckets], color="#3b7dd8")
            ax.set_xticks(range(len(buckets)))
            ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
            ax.set_xlabel(self.unit)
            ax.set_ylabel("count")
            ax.set_title(self.title if title is None else title)
            fig.tight_layout()
            path = Path(path)
            fig.savefig(path, format="png")
        finally:
            plt.close(fig)
        return path


def looks_like_histogram(m: Any) -> bool:
    """Whether a map is shaped like a log2 histogram: slot-keyed (u32 keys,
    integer counters) with ``hist``/``slot`` in its name, or holding structs
    with a ``slots`` array member (read from the map's BTF)."""
    spec = getattr(m, "spec", m)
    vt = getattr(spec, "value_type", None)
    if vt is not None:
        try:
            from . import btf

            t = btf.resolve(vt)
            if isinstance(t, (btf.Struct, btf.Union)):
                for mem in t.members:
                    if mem.name == "slots" and isinstance(btf.resolve(mem.type), btf.Array):
                        return True
                return False
        except Exception:  # noqa: BLE001 - BTF missing or partial: use the shape
            pass
    from .uapi import MapType

    name = (getattr(spec, "name", "") or "").lower()
    if not any(w in name for w in ("hist", "slot", "dist", "lat")):
        return False
    if getattr(spec, "type", None) not in (MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.HASH,
                                           MapType.PERCPU_HASH, MapType.LRU_HASH):
        return False
    return getattr(spec, "key_size", 0) == 4 and getattr(spec, "value_size", 0) in (4, 8)


__all__ = ["Bucket", "Histogram", "MAX_SLOTS", "looks_like_histogram", "slot_of", "slot_range"]
