"""Pre-filled map contents, for dry runs (``ebpf export --backend vm --prefill FILE``)
and benchmarks: render what a config would export without any kernel events.

The file (YAML or JSON) maps config name -> map name -> rows::

    syscount:
      counts:
        - {key: [1234, 59], value: 3}      # one entry per label, encoded to its size
        - {key: 7, value: 1}               # an int: the whole key, little-endian
        - {key: "hex:d2040000", value: [1, 2]}   # raw bytes; per-CPU values

A label given as a string is encoded as UTF-8, NUL-padded to its size.

>>> from ebpf.export.config import Label, Metric
>>> m = Metric("c", "h", labels=(Label("a", 4, 4), Label("b", 2)))
>>> encode_key([1, 2], m, 10).hex()
'01000000000000000200'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .collect import has_cpu_label
from .config import Metric, yaml_load


def load_prefill(path: str | os.PathLike) -> dict[str, dict[str, list[tuple[Any, Any]]]]:
    """Read a prefill file; raises :class:`~ebpf.ConfigError` naming what is wrong."""
    import yaml  # JSON is YAML too

    p = Path(path)
    try:
        data = yaml_load(p.read_text())
    except OSError as e:
        raise ConfigError(f"prefill {p}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"prefill {p}: not valid YAML/JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"prefill {p}: expected config name -> map name -> rows")
    out: dict[str, dict[str, list[tuple[Any, Any]]]] = {}
    for cfg, maps in data.items():
        if not isinstance(maps, dict):
            raise ConfigError(f"prefill {p}: {cfg} must map map names to rows")
        out[str(cfg)] = {}
        for name, rows in maps.items():
            if not isinstance(rows, list):
                raise ConfigError(f"prefill {p}: {cfg}.{name} must be a list of rows")
            parsed = []
            for i, row in enumerate(rows):
                if not isinstance(row, dict) or "key" not in row or "value" not in row:
                    raise ConfigError(f"prefill {p}: {cfg}.{name}[{i}] needs key and value")
                parsed.append((row["key"], row["value"]))
            out[str(cfg)][str(name)] = parsed
    return out


def _field(value: Any, size: int, where: str) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) > size:
            raise ConfigError(f"{where}: {value!r} does not fit in {size} bytes")
        return raw.ljust(size, b"\0")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: label values must be integers or strings, not {value!r}")
    try:
        return value.to_bytes(size, "little", signed=value < 0)
    except OverflowError:
        raise ConfigError(f"{where}: {value} does not fit in {size} bytes") from None


def encode_key(key: Any, metric: Metric | None, key_size: int, where: str = "key") -> bytes:
    """A map key from a prefill row's ``key`` (see the module docs)."""
    if isinstance(key, str) and key.startswith("hex:"):
        try:
            raw = bytes.fromhex(key[4:])
        except ValueError:
            raise ConfigError(f"{where}: {key!r} is not hex") from None
    elif isinstance(key, list):
        if metric is None:
            raise ConfigError(f"{where}: a list key needs a metric with labels for this map")
        labels = list(metric.labels)
        if len(key) != len(labels):
            raise ConfigError(f"{where}: {len(key)} values for {len(labels)} labels "
                              f"({', '.join(lb.name for lb in labels)})")
        raw = b"".join(_field(v, lb.size, f"{where} label {lb.name}") + b"\0" * lb.padding
                       for v, lb in zip(key, labels, strict=True))
    else:
        raw = _field(key, key_size, where)
    if len(raw) != key_size:
        raise ConfigError(f"{where}: key is {len(raw)} bytes, the map needs {key_size}")
    return raw


def fill_map(m: Any, rows: list[tuple[Any, Any]], metric: Metric | None, where: str) -> None:
    """Write prefill rows into a loaded map."""
    labels_metric = metric
    if metric is not None and has_cpu_label(metric, m.per_cpu):
        labels_metric = Metric(metric.name, metric.help, labels=metric.labels[:-1])
    for i, (key, value) in enumerate(rows):
        at = f"{where}[{i}]"
        raw = encode_key(key, labels_metric, m.key_size, at)
        if m.per_cpu:
            vals = list(value) if isinstance(value, list) else [value]
            if len(vals) > m.num_cpus:
                raise ConfigError(f"{at}: {len(vals)} values for {m.num_cpus} CPUs")
            vals += [0] * (m.num_cpus - len(vals))
            value = vals
        try:
            m.update_bytes(raw, m.encode_value(value))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{at}: bad value {value!r}: {e}") from None
