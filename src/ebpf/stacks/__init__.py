"""Stacks: reading them from the kernel (STACK_TRACE maps, ``bpf_get_stack``
buffers, build-id frames), aggregating them (:class:`StackProfile`), and the
pictures: folded text, an interactive flame graph, pprof.
"""

from __future__ import annotations

from .flamegraph import flame_graph_html, flame_graph_svg, write_flame_graph
from .pprof import to_pprof, write_pprof
from .profile import Stack, StackProfile, parse_folded
from .trace import (
    BuildIdFrame,
    StackError,
    StackTraceMap,
    parse_build_id_frames,
    parse_ips,
)

__all__ = ["BuildIdFrame", "Stack", "StackError", "StackProfile", "StackTraceMap",
           "flame_graph_html", "flame_graph_svg", "parse_build_id_frames", "parse_folded",
           "parse_ips", "to_pprof", "write_flame_graph", "write_pprof"]
