"""A live terminal view of a loaded object: maps as tables and histograms,
ring/perf buffer events as a stream, ``bpf_trace_printk`` lines.

Used by ``ebpf run``; usable from Python too::

    with ebpf.load("prog.bpf.o") as obj:
        obj.attach()
        LiveView(obj).run(duration=10)

Three output modes: ``"tty"`` (the screen redrawn every second with ANSI
escapes), ``"plain"`` (one line per event, tables at the end: for pipes, scripts
and CI) and ``"json"`` (one JSON object a line). Only the standard library is used.

The package: :mod:`.format` (values as text), :mod:`.snapshot` (maps read
once), :mod:`.sources` (event sources), :mod:`.view` (the terminal view).
"""

from .format import columns_of, jsonable, sum_per_cpu, table, text_of
from .snapshot import _GLOBAL_SECTIONS as _GLOBAL_SECTIONS  # noqa: F401 - `ebpf run --pin`
from .snapshot import _HIDDEN_TYPES as _HIDDEN_TYPES  # noqa: F401
from .snapshot import MapSnapshot, shown_maps, snapshot
from .sources import (
    BufferSource,
    CallbackSource,
    Event,
    EventDecoder,
    EventSource,
    TraceSource,
    guess_event_type,
)
from .view import LiveView

__all__ = ["BufferSource", "CallbackSource", "Event", "EventDecoder", "EventSource", "LiveView",
           "MapSnapshot", "TraceSource", "columns_of", "guess_event_type", "jsonable",
           "shown_maps", "snapshot", "sum_per_cpu", "table", "text_of"]
