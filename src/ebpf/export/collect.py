"""From a map's rows to Prometheus samples: keys decoded into labels, per-CPU values
summed (or split by a last ``cpu`` label), histograms rebuilt from bucket keys,
and a limit on how many series one metric may produce.

>>> from ebpf.export.config import Metric
>>> h = Metric("lat", "h", kind="histogram", bucket_type="exp2", bucket_min=0, bucket_max=3)
>>> histogram_buckets(h, {0: 1, 2: 4, 4: 7})   # bucket_max + 1 holds the sum
([(1.0, 1), (2.0, 1), (4.0, 5), (8.0, 5)], 5, 7.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import codec
from .config import Metric
from .decoders import DecodeError, DecoderSet, SkipLabelSet

log = logging.getLogger("ebpf.export")

_ZERO_KEY = b"\0\0\0\0"


def has_cpu_label(metric: Metric, per_cpu: bool) -> bool:
    """A per-CPU map whose last label is ``cpu`` gets one series per CPU."""
    return per_cpu and bool(metric.labels) and metric.labels[-1].name == "cpu"


def expected_key_size(metric: Metric, per_cpu: bool) -> int:
    """The map key size this metric's labels describe (a ``cpu`` label is not in the
    key; no labels at all means the single key ``u32 0``)."""
    size = metric.key_size - (metric.labels[-1].size + metric.labels[-1].padding
                              if has_cpu_label(metric, per_cpu) else 0)
    return size or 4


def read_rows(m: Any) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a map as bytes, batched where the backend can."""
    return m.lookup_batch_bytes()


def _u64(raw: bytes, off: int = 0) -> int:
    return int.from_bytes(raw[off:off + 8], "little")


def map_samples(m: Any, metric: Metric) -> Iterator[tuple[bytes, int]]:
    """(key bytes as the labels see them, u64 value) for every map row: per-CPU values
    summed, or one row per CPU with the CPU number appended as a u16 when the last
    label is ``cpu``."""
    per_cpu = bool(getattr(m, "per_cpu", False))
    split = has_cpu_label(metric, per_cpu)
    only_cpu = split and len(metric.labels) == 1
    stride = codec.per_cpu_stride(8)
    for key, value in read_rows(m):
        if not per_cpu:
            yield key, _u64(value)
            continue
        vals = [_u64(value, off) for off in range(0, len(value) - 7, stride)]
        if not split:
            yield key, sum(vals)
            continue
        base = b"" if only_cpu and key == _ZERO_KEY else key
        for cpu, v in enumerate(vals):
            yield base + cpu.to_bytes(2, "little"), v


@dataclass
class MetricState:
    """What a metric keeps between scrapes: decoded labels per key (the decoders
    run once per new key) and what it counted."""

    metric: Metric
    cache: dict[bytes, tuple[str, ...] | None] = field(default_factory=dict)
    decoder_errors: int = 0
    dropped_series: int = 0
    cache_limit: int = 1 << 18

    def labels_for(self, raw: bytes, decoders: DecoderSet) -> tuple[str, ...] | None:
        """The key's label values; None when it is left out (regexp skip or decode error)."""
        if raw in self.cache:
            return self.cache[raw]
        labels = self.metric.labels
        try:
            if not labels and raw == _ZERO_KEY:
                values: tuple[str, ...] | None = ()
            else:
                values = decoders.decode_labels(raw, labels)
        except SkipLabelSet:
            values = None
        except DecodeError as e:
            self.decoder_errors += 1
            log.warning("metric %s: cannot decode key %s: %s", self.metric.name, raw.hex(), e)
            return None  # not cached: counted again on the next scrape
        if len(self.cache) >= self.cache_limit:
            self.cache.clear()
        self.cache[raw] = values
        return values


def aggregate(state: MetricState, rows: Iterable[tuple[bytes, int]],
              decoders: DecoderSet) -> dict[tuple[str, ...], int]:
    """Sum values over keys that decode to the same labels (as ebpf_exporter does:
    two cgroup ids can name the same path)."""
    out: dict[tuple[str, ...], int] = {}
    for raw, value in rows:
        labels = state.labels_for(raw, decoders)
        if labels is not None:
            out[labels] = out.get(labels, 0) + value
    return out


def _bucket_key(metric: Metric) -> Any:
    mult = metric.bucket_multiplier or 1.0
    if metric.bucket_type == "exp2":
        return lambda b: math.ldexp(1.0, int(b)) * mult
    if metric.bucket_type == "exp2zero":
        return lambda b: 0.0 if b == 0 else math.ldexp(1.0, int(b) - 1) * mult
    return lambda b: float(b) * mult


def histogram_buckets(metric: Metric, counts: dict[int, int]
                      ) -> tuple[list[tuple[float, int]], int, float]:
    """(cumulative (upper bound, count) pairs, total count, sum) from raw bucket counts.

    Keys outside the configured range are ignored, except the one just past the last
    bucket, which holds the sum of observed values (in bucket units) when the program
    records it."""
    keyer = _bucket_key(metric)
    keys: list[float] = (list(metric.bucket_keys) if metric.bucket_type == "fixed"
                         else list(range(metric.bucket_min, metric.bucket_max + 1)))
    out = []
    total = 0
    for k in keys:
        total += counts.get(int(k), 0)
        out.append((keyer(k), total))
    sum_key = int(keys[-1]) + 1
    return out, total, counts.get(sum_key, 0) * (metric.bucket_multiplier or 1.0)


def series_cost(metric: Metric) -> int:
    """Series one label set makes: 1 for a counter; buckets, +Inf, sum, count for a histogram."""
    if metric.kind == "counter":
        return 1
    n = len(metric.bucket_keys) if metric.bucket_type == "fixed" else \
        metric.bucket_max - metric.bucket_min + 1
    return n + 3


def limit_series(state: MetricState, values: dict[tuple[str, ...], Any],
                 max_series: int) -> dict[tuple[str, ...], Any]:
    """At most ``max_series`` series (label sets kept in sorted order); the rest are
    dropped and counted."""
    cost = series_cost(state.metric)
    if max_series <= 0 or len(values) * cost <= max_series:
        return values
    keep = max(0, max_series // cost)
    kept = dict(sorted(values.items())[:keep])
    dropped = (len(values) - keep) * cost
    state.dropped_series += dropped
    log.warning("metric %s: %d label sets exceed the limit of %d series; %d series dropped",
                state.metric.name, len(values), max_series, dropped)
    return kept
