"""The exporter: load configs, attach their programs, and serve their maps as
Prometheus metrics (OpenMetrics through ``prometheus_client``).

>>> from ebpf.export import Exporter  # doctest: +SKIP
>>> with Exporter(["examples/syscount/syscount.yaml"]) as exp:  # doctest: +SKIP
...     print(exp.render().decode())

A config that fails (compile, load, verifier, attach, a map that does not match its
metrics) is logged, reported in ``ebpf_exporter_failed_configs`` and skipped; the
others run. ``close()`` detaches and unloads everything.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._internal.closeable import Closeable
from ..errors import ConfigError, Error
from ..uapi import MapType
from .collect import (
    MetricState,
    aggregate,
    expected_key_size,
    histogram_buckets,
    limit_series,
    map_samples,
)
from .config import Config, load_config
from .decoders import DecoderSet
from .events import EventCounter

log = logging.getLogger("ebpf.export")

NAMESPACE = "ebpf_exporter"
DEFAULT_MAX_SERIES = 50_000


@dataclass
class Running:
    """A config that loaded: its object, links and per-metric state."""

    config: Config
    obj: Any
    links: list[tuple[str, Any]] = field(default_factory=list)
    states: dict[str, MetricState] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)  # metric -> EventCounter

    @property
    def decoder_errors(self) -> int:
        return sum(s.decoder_errors for s in self.states.values())


def _close_run(run: Running) -> None:
    """Stop event readers, detach every link, unload the object."""
    for ev in run.events.values():
        ev.close()
    run.events.clear()
    for pname, link in reversed(run.links):
        try:
            link.close()
        except Error as e:
            log.warning("config %s: detaching %s: %s", run.config.name, pname, e)
    run.links.clear()
    run.obj.close()


def _kaddrs(names: list[str], path: str = "/proc/kallsyms") -> dict[str, int]:
    from ..symbols.kallsyms import read_kallsyms

    want = set(names)
    found: dict[str, int] = {}
    try:
        rows = read_kallsyms(path)
    except OSError as e:
        raise ConfigError(f"kaddrs: cannot read {path}: {e}") from None
    for addr, _, name, _ in rows:
        if name in want and name not in found:
            found[name] = addr
    return found


class Exporter(Closeable):
    """Runs configs (paths to ``NAME.yaml`` or parsed :class:`Config` objects).

    ``backend``: ``"kernel"`` attaches programs; ``"vm"`` only loads them (a dry run
    that checks configs without root). ``prefill`` maps config name -> map name ->
    list of ``(key, value)`` written into the maps after load (see
    :func:`ebpf.export.prefill.load_prefill`). ``max_series`` limits the series one
    metric may export (0: no limit).
    """

    def __init__(self, configs: Iterable[str | os.PathLike | Config], *,
                 backend: str | None = None, max_series: int = DEFAULT_MAX_SERIES,
                 prefill: dict[str, dict[str, list[tuple[Any, Any]]]] | None = None,
                 decoders: DecoderSet | None = None, cc: str | None = None,
                 enable_stats: bool = True, verify: str = "warn"):
        from ..backend import default_backend

        self.backend = backend or default_backend()
        if verify not in ("warn", "strict", "off"):
            raise ValueError(f"verify must be 'warn', 'strict' or 'off', not {verify!r}")
        self.verify = verify
        #: config name -> warnings (our verifier's rejections in warn mode)
        self.warnings: dict[str, list[str]] = {}
        self.max_series = max_series
        self.decoders = decoders or DecoderSet()
        self.running: dict[str, Running] = {}
        self.failed: dict[str, str] = {}
        self._cc = cc
        self._prefill = prefill or {}
        self._lock = threading.Lock()
        self._build: tempfile.TemporaryDirectory[str] | None = None
        self._stats_fd: Any = None
        self._closed = False
        self._server: Any = None
        self._configs: list[Config] = []
        for c in configs:
            if isinstance(c, Config):
                self._configs.append(c)
                continue
            try:
                self._configs.append(load_config(c))
            except ConfigError as e:
                self._fail(Path(c).name.removesuffix(".yaml").removesuffix(".yml"), e)
        try:
            for cfg in self._configs:
                self._open(cfg)
            if enable_stats and self.backend == "kernel" and self.running:
                self._enable_stats()
        except BaseException:
            self.close()
            raise

    # -- loading ---------------------------------------------------------------------------

    def _fail(self, name: str, err: BaseException) -> None:
        from .programs import short

        self.failed[name] = short(err)
        log.error("config %s skipped: %s", name, self.failed[name])

    def _object_path(self, cfg: Config) -> Path:
        obj, src = cfg.object_candidates()
        if obj.exists():
            return obj
        if not src.exists():
            raise ConfigError(f"config {cfg.name}: neither {obj} nor {src} exists")
        from ..toolchain import compile as compile_c

        if self._build is None:
            self._build = tempfile.TemporaryDirectory(prefix="ebpf-export-")
        out = Path(self._build.name) / obj.name
        log.info("config %s: compiling %s", cfg.name, src)
        return compile_c(src, out, cc=self._cc)

    def _open(self, cfg: Config) -> None:
        if cfg.name in self.running or cfg.name in self.failed:
            self._fail(cfg.name, ConfigError(f"config {cfg.name} is given twice"))
            return
        try:
            self.running[cfg.name] = self._load(cfg)
        except Error as e:
            self._fail(cfg.name, e)

    def _load(self, cfg: Config) -> Running:
        from ..objects import load
        from ..spec import ObjectSpec
        from .programs import attach_all, explain_load

        spec = ObjectSpec.from_file(self._object_path(cfg))
        for metric in cfg.metrics:
            ms = spec.maps.get(metric.name)
            if ms is None:
                raise ConfigError(f"config {cfg.name}: metric {metric.name} has no map of "
                                  f"that name (maps: {', '.join(sorted(spec.maps)) or 'none'})")
            if metric.perf_event_array:
                if ms.type != MapType.PERF_EVENT_ARRAY:
                    raise ConfigError(f"config {cfg.name}: metric {metric.name} has "
                                      "perf_event_array: true but its map is "
                                      f"{ms.type.name}, not PERF_EVENT_ARRAY")
            elif ms.value_size != 8:
                raise ConfigError(f"config {cfg.name}: map {metric.name} values are "
                                  f"{ms.value_size} bytes; metrics need u64 (8 bytes)")
        constants: dict[str, int] = {}
        if cfg.kaddrs:
            found = _kaddrs(cfg.kaddrs)
            missing = sorted(set(cfg.kaddrs) - set(found))
            if missing:
                raise ConfigError(f"config {cfg.name}: kaddrs not in /proc/kallsyms: "
                                  f"{', '.join(missing)}")
            constants = {f"kaddr_{k}": v for k, v in found.items()}
        if self.backend == "vm" and self.verify != "off":
            self._verify(cfg, spec)
        # the vm verifies at load; here _verify already did (warn/strict/off decide)
        opts: dict[str, Any] = {"verify": False} if self.backend == "vm" else {}
        try:
            obj = load(spec, backend=self.backend, constants=constants, **opts)
        except Error as e:
            raise explain_load(cfg.name, spec, e) from None
        run = Running(cfg, obj)
        try:
            for metric in cfg.metrics:
                m = obj.maps[metric.name]
                run.states[metric.name] = MetricState(metric)
                if metric.perf_event_array:
                    continue
                want = expected_key_size(metric, m.per_cpu)
                if m.key_size != want:
                    raise ConfigError(
                        f"config {cfg.name}: map {metric.name} keys are {m.key_size} bytes "
                        f"but the labels of metric {metric.name} describe {want}")
            self._fill(cfg, obj)
            if self.backend == "kernel":
                run.links = attach_all(cfg.name, obj)
            for metric in cfg.metrics:
                if metric.perf_event_array and self.backend == "kernel":
                    run.events[metric.name] = EventCounter(obj.maps[metric.name],
                                                           run.states[metric.name],
                                                           self.decoders)
            return run
        except BaseException:
            _close_run(run)
            raise

    def _verify(self, cfg: Config, spec: Any) -> None:
        """Dry runs: our static verifier checks every program (the kernel's verifier
        does on the kernel backend). ``strict``: a rejection fails the config;
        ``warn``: it is logged and kept in :attr:`warnings`."""
        from ..errors import VerifierError
        from ..verifier import verify

        for name in spec.programs:
            try:
                verify(spec, program=name, check=True)
            except Exception as e:  # noqa: BLE001 - a verifier bug must not stop a dry run
                msg = f"config {cfg.name}: ebpf's verifier rejects program {name}: {e}"
                if self.verify == "strict":
                    if isinstance(e, VerifierError):
                        raise VerifierError(msg, e.log) from None
                    raise Error(msg) from None
                self.warnings.setdefault(cfg.name, []).append(msg)
                log.warning("%s (the kernel may still accept it; --verify strict fails the "
                            "config)", msg.splitlines()[0])

    def _fill(self, cfg: Config, obj: Any) -> None:
        from .prefill import fill_map

        for map_name, rows in self._prefill.get(cfg.name, {}).items():
            m = obj.maps.get(map_name)
            if m is None:
                raise ConfigError(f"prefill for config {cfg.name}: no map {map_name}")
            metric = next((x for x in cfg.metrics if x.name == map_name), None)
            fill_map(m, rows, metric, where=f"prefill {cfg.name}.{map_name}")

    def _enable_stats(self) -> None:
        from ..kernel import commands

        try:
            self._stats_fd = commands.enable_stats()
        except Error as e:
            log.warning("cannot enable BPF run-time stats (run counts/times stay 0 unless "
                        "kernel.bpf_stats_enabled=1): %s", e)

    # -- metrics ---------------------------------------------------------------------------

    def collect(self) -> Iterator[Any]:
        """Metric families for ``prometheus_client`` (this object is a Collector)."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        with self._lock:
            if self._closed:
                return
            families: list[Any] = []
            for run in self.running.values():
                families.extend(self._config_families(run, CounterMetricFamily,
                                                      HistogramMetricFamily))
            families.extend(self._health(CounterMetricFamily, GaugeMetricFamily))
        yield from families

    def _config_families(self, run: Running, counter_cls: Any, hist_cls: Any) -> Iterator[Any]:
        from prometheus_client.utils import floatToGoString

        for metric in run.config.metrics:
            state = run.states[metric.name]
            names = [lb.name for lb in metric.labels]
            fq = f"{NAMESPACE}_{metric.name}"
            if metric.perf_event_array:
                events = run.events.get(metric.name)
                seen = limit_series(state, events.snapshot() if events else {},
                                    self.max_series)
                fam = counter_cls(fq, metric.help, labels=names)
                for labels, v in seen.items():
                    fam.add_metric(list(labels), v)
                yield fam
                lost = counter_cls(f"dropped_perf_event_map_events_{metric.name}",
                                   "Dropped perf map events")
                lost.add_metric([], events.lost if events else 0)
                yield lost
                continue
            try:
                values = aggregate(state, map_samples(run.obj.maps[metric.name], metric),
                                   self.decoders)
            except Error as e:
                state.decoder_errors += 1
                log.warning("config %s: reading map %s: %s", run.config.name, metric.name, e)
                continue
            if metric.kind == "counter":
                values = limit_series(state, values, self.max_series)
                fam = counter_cls(fq, metric.help, labels=names)
                for labels, v in values.items():
                    fam.add_metric(list(labels), v)
                yield fam
                continue
            groups: dict[tuple[str, ...], dict[int, int]] = {}
            for labels, v in values.items():
                try:
                    bucket = int(labels[-1], 0)
                except ValueError:
                    try:
                        bucket = int(labels[-1])
                    except ValueError:
                        state.decoder_errors += 1
                        log.warning("histogram %s: bucket label %r is not an integer",
                                    metric.name, labels[-1])
                        continue
                g = groups.setdefault(labels[:-1], {})
                g[bucket] = g.get(bucket, 0) + v
            groups = limit_series(state, groups, self.max_series)
            fam = hist_cls(fq, metric.help, labels=names[:-1])
            for labels, counts in groups.items():
                buckets, total, total_sum = histogram_buckets(metric, counts)
                pairs = [(floatToGoString(le), c) for le, c in buckets]
                pairs.append(("+Inf", total))
                fam.add_metric(list(labels), pairs, total_sum)
            yield fam

    def _health(self, counter_cls: Any, gauge_cls: Any) -> Iterator[Any]:
        enabled = gauge_cls(f"{NAMESPACE}_enabled_configs", "The set of enabled configs",
                            labels=["name"])
        for name in self.running:
            enabled.add_metric([name], 1)
        yield enabled
        failed = gauge_cls(f"{NAMESPACE}_failed_configs",
                           "Configs that failed to load and were skipped", labels=["name"])
        for name in self.failed:
            failed.add_metric([name], 1)
        yield failed
        errors = counter_cls(f"{NAMESPACE}_decoder_errors",
                             "How many times has decoders encountered errors", labels=["config"])
        dropped = counter_cls(f"{NAMESPACE}_dropped_series",
                              "Series left out because a metric exceeded the series limit",
                              labels=["config", "metric"])
        for name, run in self.running.items():
            errors.add_metric([name], run.decoder_errors)
            for mname, st in run.states.items():
                dropped.add_metric([name, mname], st.dropped_series)
        yield errors
        yield dropped
        yield from self._program_families(gauge_cls, counter_cls)

    def _program_families(self, gauge_cls: Any, counter_cls: Any) -> Iterator[Any]:
        if self.backend != "kernel":
            return
        from prometheus_client.core import UnknownMetricFamily

        from ..kernel.info import prog_info_from_fd, stats_enabled

        info = gauge_cls(f"{NAMESPACE}_ebpf_program_info", "Info about ebpf programs",
                         labels=["config", "program", "tag", "id"])
        attached = gauge_cls(f"{NAMESPACE}_ebpf_program_attached",
                             "Whether a program is attached", labels=["id"])
        # ebpf_exporter's name has no _total suffix, which a counter must have in
        # OpenMetrics: typed "unknown" so the name dashboards use stays the same.
        run_time = UnknownMetricFamily(f"{NAMESPACE}_ebpf_program_run_time_seconds",
                                       "How long has the program been executing",
                                       labels=["id"])
        run_count = counter_cls(f"{NAMESPACE}_ebpf_program_run_count",
                                "How many times has the program been executed", labels=["id"])
        stats = self._stats_fd is not None or stats_enabled()
        for name, run in self.running.items():
            linked = {p for p, _ in run.links}
            for pname, prog in run.obj.programs.items():
                try:
                    pi = prog_info_from_fd(prog.fd)
                except Error as e:
                    log.warning("program info for %s in config %s: %s", pname, name, e)
                    continue
                pid = str(pi.id)
                info.add_metric([name, pname, pi.tag, pid], 1)
                attached.add_metric([pid], 1 if pname in linked else 0)
                if stats:
                    run_time.add_metric([pid], pi.run_time_ns / 1e9)
                    run_count.add_metric([pid], pi.run_count)
        yield info
        yield attached
        if stats:
            yield run_time
            yield run_count

    def registry(self) -> Any:
        """A ``prometheus_client`` registry holding only this exporter."""
        from prometheus_client import CollectorRegistry

        reg = CollectorRegistry(auto_describe=False)
        reg.register(self)
        return reg

    def render(self, openmetrics: bool = True) -> bytes:
        """One scrape's exposition text."""
        if openmetrics:
            from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_text

            return openmetrics_text(self.registry())
        from prometheus_client.exposition import generate_latest

        return generate_latest(self.registry())

    # -- serving ---------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 9435) -> tuple[str, int]:
        """Serve ``/metrics`` from a background thread; returns the bound address."""
        from http.server import ThreadingHTTPServer

        from prometheus_client import MetricsHandler

        handler = MetricsHandler.factory(self.registry())
        server = ThreadingHTTPServer((host, port), handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="ebpf-export-http",
                         daemon=True).start()
        addr = server.server_address
        return str(addr[0]), int(addr[1])

    def close(self) -> None:
        """Stop serving, detach every program, unload every object."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for run in self.running.values():
            _close_run(run)
        if self._stats_fd is not None:
            self._stats_fd.close()
            self._stats_fd = None
        if self._build is not None:
            self._build.cleanup()
            self._build = None
