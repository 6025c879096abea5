"""Exporter configs in the format of Cloudflare's ebpf_exporter (v2).

One config is ``NAME.yaml`` beside ``NAME.bpf.o`` (or only ``NAME.bpf.c``, compiled
on load). Its ``metrics.counters`` and ``metrics.histograms`` are named after the
BPF maps that hold them; each metric's ``labels`` say how a map key's bytes turn
into label values (``size``, ``padding`` and a chain of ``decoders``).

>>> cfg = parse_config({"metrics": {"counters": [{"name": "calls_total", "help": "h",
...     "labels": [{"name": "pid", "size": 4, "decoders": [{"name": "uint"}]}]}]}},
...     name="demo")
>>> cfg.counters[0].labels[0].size, cfg.counters[0].key_size
(4, 4)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

BUCKET_TYPES = ("exp2", "exp2zero", "linear", "fixed")

#: decoder name -> the option keys it accepts (beyond ``name``)
DECODER_OPTIONS: dict[str, tuple[str, ...]] = {
    "uint": (), "string": (), "hex": (), "ksym": (), "kstack": (), "syscall": (),
    "errno": (), "inet_ip": (), "ifname": (), "cgroup": (), "majorminor": (),
    "dname": (), "static_map": ("static_map", "allow_unknown"), "regexp": ("regexps",),
}


@dataclass(frozen=True)
class Decoder:
    """One step of a label's decoder chain."""

    name: str
    static_map: dict[str, str] | None = None
    allow_unknown: bool = False
    regexps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Label:
    """A field of the map key: ``size`` bytes (then ``padding`` skipped bytes)."""

    name: str
    size: int
    padding: int = 0
    decoders: tuple[Decoder, ...] = ()


@dataclass(frozen=True)
class Metric:
    """A counter or histogram: the map of the same name, read as u64 values."""

    name: str
    help: str
    labels: tuple[Label, ...] = ()
    kind: str = "counter"
    bucket_type: str = ""
    bucket_min: int = 0
    bucket_max: int = 0
    bucket_keys: tuple[float, ...] = ()
    bucket_multiplier: float = 1.0
    #: counted from events sent to a perf event array (one per event), not read from a map
    perf_event_array: bool = False
    #: seconds after which event counts start again from zero (0: every hour)
    flush_interval: float = 0.0

    @property
    def key_size(self) -> int:
        """Bytes of map key the labels describe."""
        return sum(lb.size + lb.padding for lb in self.labels)


@dataclass
class Config:
    """A parsed config; ``path`` is the YAML file, ``name`` its stem."""

    name: str
    counters: list[Metric] = field(default_factory=list)
    histograms: list[Metric] = field(default_factory=list)
    kaddrs: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def metrics(self) -> list[Metric]:
        return [*self.counters, *self.histograms]

    def object_candidates(self) -> tuple[Path, Path]:
        """(``NAME.bpf.o``, ``NAME.bpf.c``) beside the YAML file."""
        base = (self.path.parent if self.path else Path(".")) / self.name
        return base.with_name(self.name + ".bpf.o"), base.with_name(self.name + ".bpf.c")


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(v: Any, what: str, cfg: str) -> float:
    """Seconds from a Go-style duration (``"1m30s"``, ``"500ms"``) or a number of seconds."""
    import re

    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    text = str(v).strip()
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigError(_where(cfg, f"{what} must be a duration like 30s or 1m, not {v!r}"))
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _where(name: str, *parts: object) -> str:
    return f"config {name}: " + "".join(str(p) for p in parts)


def _int(v: Any, what: str, cfg: str, minimum: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(_where(cfg, f"{what} must be an integer, not {v!r}"))
    if minimum is not None and v < minimum:
        raise ConfigError(_where(cfg, f"{what} must be >= {minimum}, not {v}"))
    return v


def _mapping(v: Any, what: str, cfg: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ConfigError(_where(cfg, f"{what} must be a mapping, not {type(v).__name__}"))
    return v


def _list(v: Any, what: str, cfg: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise ConfigError(_where(cfg, f"{what} must be a list, not {type(v).__name__}"))
    return v


def _decoder(raw: Any, where: str, cfg: str) -> Decoder:
    d = _mapping(raw, where, cfg)
    name = d.get("name")
    if name not in DECODER_OPTIONS:
        known = ", ".join(sorted(DECODER_OPTIONS))
        raise ConfigError(_where(cfg, f"{where}: unknown decoder {name!r} (known: {known})"))
    extra = set(d) - {"name", *DECODER_OPTIONS[name]}
    if extra:
        raise ConfigError(_where(cfg, f"{where}: decoder {name} does not take "
                                      f"{', '.join(sorted(extra))}"))
    static = d.get("static_map")
    if name == "static_map":
        static = {str(k): str(v) for k, v in _mapping(static, f"{where}.static_map", cfg).items()}
    regexps = tuple(str(r) for r in _list(d.get("regexps"), f"{where}.regexps", cfg))
    if name == "regexp":
        import re

        if not regexps:
            raise ConfigError(_where(cfg, f"{where}: decoder regexp needs regexps"))
        for r in regexps:
            try:
                re.compile(r)
            except re.error as e:
                raise ConfigError(_where(cfg, f"{where}: bad regexp {r!r}: {e}")) from None
    return Decoder(name=name, static_map=static, allow_unknown=bool(d.get("allow_unknown")),
                   regexps=regexps)


def _label(raw: Any, where: str, cfg: str) -> Label:
    d = _mapping(raw, where, cfg)
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(_where(cfg, f"{where}: a label needs a name"))
    where = f"{where} ({name})"
    size = _int(d.get("size"), f"{where}.size", cfg, 1) if "size" in d else 0
    if not size:
        raise ConfigError(_where(cfg, f"{where}: size is zero or not set"))
    padding = _int(d.get("padding", 0), f"{where}.padding", cfg, 0)
    decoders = tuple(_decoder(x, f"{where}.decoders[{i}]", cfg)
                     for i, x in enumerate(_list(d.get("decoders"), f"{where}.decoders", cfg)))
    if not decoders:
        raise ConfigError(_where(cfg, f"{where}: no decoders set"))
    return Label(name=name, size=size, padding=padding, decoders=decoders)


def _metric(raw: Any, kind: str, i: int, cfg: str) -> Metric:
    where = f"metrics.{kind}s[{i}]"
    d = _mapping(raw, where, cfg)
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(_where(cfg, f"{where}: a metric needs a name (its map's name)"))
    where = f"{where} ({name})"
    events = bool(d.get("perf_event_array"))
    if events and kind != "counter":
        raise ConfigError(_where(cfg, f"{where}: perf_event_array is for counters only"))
    flush = parse_duration(d["flush_interval"], f"{where}.flush_interval", cfg) \
        if d.get("flush_interval") else 0.0
    labels = tuple(_label(x, f"{where}.labels[{j}]", cfg)
                   for j, x in enumerate(_list(d.get("labels"), f"{where}.labels", cfg)))
    names = [lb.name for lb in labels]
    if len(set(names)) != len(names):
        raise ConfigError(_where(cfg, f"{where}: duplicate label names {names}"))
    m = Metric(name=name, help=str(d.get("help") or name), labels=labels, kind=kind,
               perf_event_array=events, flush_interval=flush)
    if kind == "counter":
        return m
    btype = d.get("bucket_type")
    if btype not in BUCKET_TYPES:
        raise ConfigError(_where(cfg, f"{where}: bucket_type must be one of "
                                      f"{', '.join(BUCKET_TYPES)}, not {btype!r}"))
    if not labels:
        raise ConfigError(_where(cfg, f"{where}: a histogram needs a last label for the bucket"))
    mult = d.get("bucket_multiplier", 1) or 1
    if isinstance(mult, bool) or not isinstance(mult, (int, float)):
        raise ConfigError(_where(cfg, f"{where}: bucket_multiplier must be a number"))
    keys: tuple[float, ...] = ()
    lo = hi = 0
    if btype == "fixed":
        keys = tuple(float(k) for k in _list(d.get("bucket_keys"), f"{where}.bucket_keys", cfg))
        if not keys:
            raise ConfigError(_where(cfg, f"{where}: fixed histograms need bucket_keys"))
    else:
        lo = _int(d.get("bucket_min", 0), f"{where}.bucket_min", cfg, 0)
        hi = _int(d.get("bucket_max", 0), f"{where}.bucket_max", cfg, 0)
        if hi <= lo:
            raise ConfigError(_where(cfg, f"{where}: histogram buckets have zero size "
                                          f"(bucket_min {lo}, bucket_max {hi})"))
    return Metric(name=name, help=m.help, labels=labels, kind=kind, bucket_type=btype,
                  bucket_min=lo, bucket_max=hi, bucket_keys=keys,
                  bucket_multiplier=float(mult))


def parse_config(data: Any, name: str, path: Path | None = None) -> Config:
    """A config from already-parsed YAML; raises :class:`~ebpf.ConfigError`."""
    d = _mapping(data, "the file", name)
    unsupported = [k for k in ("tracing", "cgroup_id_map") if d.get(k)]
    if unsupported:
        raise ConfigError(_where(name, f"{', '.join(unsupported)} is not supported "
                                       "(only metrics and kaddrs)"))
    metrics = _mapping(d.get("metrics"), "metrics", name)
    counters = [_metric(x, "counter", i, name)
                for i, x in enumerate(_list(metrics.get("counters"), "metrics.counters", name))]
    hists = [_metric(x, "histogram", i, name)
             for i, x in enumerate(_list(metrics.get("histograms"), "metrics.histograms", name))]
    seen: set[str] = set()
    for m in [*counters, *hists]:
        if m.name in seen:
            raise ConfigError(_where(name, f"metric {m.name} is defined twice"))
        seen.add(m.name)
    kaddrs = [str(k) for k in _list(d.get("kaddrs"), "kaddrs", name)]
    return Config(name=name, counters=counters, histograms=hists, kaddrs=kaddrs, path=path)


def yaml_load(text: str) -> Any:
    """Parse YAML (or JSON) with PyYAML's C loader when it has one."""
    import yaml  # lazy: PyYAML is only needed by the exporter

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_config(path: str | os.PathLike) -> Config:
    """Read ``NAME.yaml`` (name = the file name without ``.yaml``/``.yml``)."""
    import yaml  # lazy: PyYAML is only needed by the exporter

    p = Path(path)
    name = p.name.removesuffix(".yaml").removesuffix(".yml")
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"config {name}: cannot read {p}: {e.strerror or e}") from None
    try:
        data = yaml_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"config {name}: {p} is not valid YAML: {e}") from None
    return parse_config(data, name, p)
