"""``perf_event_array: true`` counters: the program sends one event per occurrence to
a perf event array; each event's first bytes are decoded into labels and counted.
Counts start again from zero every ``flush_interval`` (default one hour), as in
ebpf_exporter; events the kernel dropped are counted too."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..errors import Error
from .collect import MetricState
from .decoders import DecoderSet

log = logging.getLogger("ebpf.export")

DEFAULT_FLUSH = 3600.0


class EventCounter:
    """Counts the events of one perf event array map from a background thread."""

    def __init__(self, m: Any, state: MetricState, decoders: DecoderSet):
        from ..perfbuf import PerfBuffer

        self.state = state
        self.decoders = decoders
        self.counts: dict[tuple[str, ...], int] = {}
        self.lost = 0
        self._size = state.metric.key_size
        self._flush = state.metric.flush_interval or DEFAULT_FLUSH
        self._flushed = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._buf = PerfBuffer(m, lost_callback=self._on_lost)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"ebpf-export-events-{m.name}")
        self._thread.start()

    def _on_lost(self, n: int) -> None:
        self.lost += n

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                records = self._buf.poll(timeout=0.3)
            except Error as e:
                if not self._stop.is_set():
                    log.warning("metric %s: reading events: %s", self.state.metric.name, e)
                return
            with self._lock:
                if time.monotonic() - self._flushed >= self._flush:
                    self.counts.clear()
                    self._flushed = time.monotonic()
                for rec in records:
                    labels = self.state.labels_for(bytes(rec[:self._size]), self.decoders)
                    if labels is not None:
                        self.counts[labels] = self.counts.get(labels, 0) + 1

    def snapshot(self) -> dict[tuple[str, ...], int]:
        with self._lock:
            return dict(self.counts)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._buf.close()
