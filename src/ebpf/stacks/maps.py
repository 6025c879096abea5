"""Stacks in any object's maps, for ``ebpf run``: STACK_TRACE maps joined with
the maps that count by stack id, symbolized.

A counting map is one whose key (a BTF struct) has integer fields named like
``*stack_id*``/``*stackid*`` and whose value is a number (or per-CPU numbers):
its entries become stacks (``pid``/``tgid`` and ``comm`` fields, when present,
say whose). Which STACK_TRACE map an id belongs to is read from the field name
when the object has several (``user``/``ustack`` vs ``kern``/``kstack``), and
each address is classified by value (kernel half of the address space or not),
so one map holding both kinds works. Stack maps no counting map refers to are
shown stack by stack.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass, field
from typing import Any

from ..errors import Error
from ..symbols import Frame, Symbolizer
from ..uapi import MapType
from .collect import trim_glue, user_frames
from .profile import Stack, StackProfile
from .trace import BuildIdFrame, StackTraceMap

log = logging.getLogger(__name__)

#: lowest kernel address (x86-64 and arm64 put the kernel in the top half)
KERNEL_MIN = 0xFFFF800000000000 if platform.machine() in ("x86_64", "aarch64") else 1 << 63

_PID_FIELDS = ("pid", "tgid")
_COMM_FIELDS = ("comm", "name", "task")


def is_kernel_address(addr: int) -> bool:
    return addr >= KERNEL_MIN


@dataclass
class StackView:
    """One map's stacks: a profile joined from a counting map, or the raw stacks
    of a STACK_TRACE map (``counted`` False: each stack's value is 1)."""

    name: str
    profile: StackProfile
    counted: bool
    sources: list[str] = field(default_factory=list)  # maps it was read from

    def lines(self, limit: int | None = 10) -> list[str]:
        top = self.profile.top(limit)
        what = "stacks" if not self.counted else f"stacks by {self.name}"
        out = [f"{what}: {len(self.profile)} distinct, total {self.profile.total}"]
        for stack, value in top:
            who = f"  {stack.comm} ({stack.pid})" if stack.comm or stack.pid else ""
            out.append(f"  {value}{who}")
            for f in stack.frames:
                out.append(f"      {f.label(with_module=not f.kernel)}")
        if limit is not None and len(self.profile) > limit:
            out.append(f"  ... {len(self.profile) - limit} more")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"type": "stacks", "map": self.name,
                "stacks": [{"value": v, "pid": s.pid, "comm": s.comm,
                            "frames": [{"name": f.name, "module": f.module, "offset": f.offset,
                                        "kernel": f.kernel} for f in s.frames]}
                           for s, v in self.profile.top()]}


def _fields(value: Any) -> dict[str, Any]:
    if callable(getattr(value, "asdict", None)):
        return dict(value.asdict())
    names = getattr(value, "_fields", None)
    if names:
        return {n: getattr(value, n) for n in names}
    d = getattr(value, "__dict__", None)
    return dict(d) if isinstance(d, dict) else {}


def _number(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, list) and v and all(isinstance(x, int) for x in v):
        return sum(v)
    return None


def _text(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).split(b"\0", 1)[0].decode("utf-8", "replace")
    return str(v) if isinstance(v, str) else ""


class _Resolver:
    def __init__(self, symbolizer: Symbolizer, stack_maps: dict[str, StackTraceMap]):
        self.sym = symbolizer
        self.maps = stack_maps

    def frames(self, smap: StackTraceMap, stack_id: int, pid: int) -> list[Frame]:
        stack = smap.get(stack_id)
        if getattr(smap.map, "backend", "") == "vm":
            # the runtime's stacks are BPF call chains in its code space, not host
            # addresses (docs/vm.md): name the instruction slots
            from ..vm.code import CODE_BASE

            out = []
            for a in stack:
                ip = a.offset if isinstance(a, BuildIdFrame) else int(a)
                out.append(Frame(ip, f"bpf insn {(ip - CODE_BASE) // 8}", "vm"))
            return out
        if smap.build_id:
            return user_frames(self.sym, pid, stack)
        ips = [int(a) for a in stack]  # type: ignore[arg-type]
        if ips and all(is_kernel_address(a) for a in ips):
            return trim_glue(self.sym.kernel_stack(ips))
        out = []
        for i, a in enumerate(ips):
            if is_kernel_address(a):
                out.append(self.sym.kernel_frame(a, return_address=i > 0))
            elif pid:
                out.append(self.sym.user_frame(pid, a, return_address=i > 0))
            else:
                out.append(Frame(a))
        return out


def _map_for(field_name: str, stack_maps: dict[str, StackTraceMap]) -> StackTraceMap | None:
    if len(stack_maps) == 1:
        return next(iter(stack_maps.values()))
    low = field_name.lower()
    for name, m in stack_maps.items():  # a field named after the map
        if name.lower().rstrip("s") in low:
            return m
    user = "user" in low or "ustack" in low
    for name, m in stack_maps.items():
        n = name.lower()
        if user and ("user" in n or "ustack" in n or m.build_id):
            return m
        if not user and ("kern" in n or "kstack" in n):
            return m
    return next(iter(stack_maps.values()))


def stack_views(obj: Any, symbolizer: Symbolizer | None = None) -> tuple[list[StackView], set[str]]:
    """The stacks in ``obj``'s maps, and the names of the counting maps they
    were joined from (a live view shows those as stacks instead of raw ids)."""
    stack_maps = {n: StackTraceMap(m) for n, m in obj.maps.items()
                  if m.type == MapType.STACK_TRACE}
    if not stack_maps:
        return [], set()
    res = _Resolver(symbolizer or Symbolizer(), stack_maps)
    views: list[StackView] = []
    joined: set[str] = set()
    used: set[str] = set()
    for name, m in obj.maps.items():
        if m.type not in (MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH,
                          MapType.LRU_PERCPU_HASH):
            continue
        try:
            items = list(m.items())
        except Error as e:
            log.debug("map %s: %s", name, e)
            continue
        if not items:
            continue
        first = _fields(items[0][0])
        id_fields = [f for f in first if "stack_id" in f.lower() or "stackid" in f.lower()]
        if not id_fields or _number(items[0][1]) is None:
            continue
        prof = StackProfile(unit="count")
        for key, value in items:
            kf = _fields(key)
            pid = next((int(kf[f]) for f in _PID_FIELDS if isinstance(kf.get(f), int)), 0)
            comm = next((_text(kf[f]) for f in _COMM_FIELDS if f in kf), "")
            frames: list[Frame] = []
            kernel_part: list[Frame] = []
            for f in id_fields:
                sid = kf.get(f)
                if not isinstance(sid, int) or sid < 0:
                    continue
                smap = _map_for(f, stack_maps)
                if smap is None:
                    continue
                used.add(smap.map.name)
                fr = res.frames(smap, sid, pid)
                if fr and fr[0].kernel:
                    kernel_part += fr
                else:
                    frames += fr
            prof.add(Stack(tuple(kernel_part + frames), comm=comm, pid=pid), _number(value) or 0)
        views.append(StackView(name, prof, True, [name]))
        joined.add(name)
    for name, smap in stack_maps.items():
        if name in used:
            continue
        prof = StackProfile(unit="stacks")
        for sid in smap.ids():
            prof.add(Stack(tuple(res.frames(smap, sid, 0))), 1)
        views.append(StackView(name, prof, False, [name]))
    return views, joined


def remember_processes(obj: Any, symbolizer: Symbolizer, seen: set[int]) -> None:
    """Snapshot the memory maps of processes new in ``obj``'s counting maps (those
    with stack id fields and a pid field), so their stacks resolve after they exit."""
    if not any(m.type == MapType.STACK_TRACE for m in obj.maps.values()):
        return
    for m in obj.maps.values():
        if m.type not in (MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH,
                          MapType.LRU_PERCPU_HASH):
            continue
        try:
            for key in m.keys():
                kf = _fields(key)
                if not any("stack_id" in f.lower() or "stackid" in f.lower() for f in kf):
                    break
                pid = next((kf[f] for f in _PID_FIELDS if isinstance(kf.get(f), int)), 0)
                if pid and pid not in seen:
                    seen.add(pid)
                    symbolizer.remember(pid)
        except Error as e:
            log.debug("map %s: %s", m.name, e)


def profile_of(views: list[StackView]) -> StackProfile:
    """One profile of every view (for a flame graph of a whole object)."""
    counted = [v for v in views if v.counted] or views
    out = StackProfile(unit=counted[0].profile.unit if counted else "count")
    for v in counted:
        for stack, value in v.profile:
            out.add(stack, value)
    return out


__all__ = ["KERNEL_MIN", "StackView", "is_kernel_address", "profile_of", "remember_processes",
           "stack_views"]
