"""Probe specifications as the classic tools write them, for funccount, funclatency
and trace: ``t:category:event`` (tracepoint), ``u:lib:func`` / ``lib:func`` /
``/path/prog:func`` (uprobe; ``c`` is the C library), ``r:lib:func`` (uretprobe, trace
only), ``p:lib:func``; globs (``*``, ``?``) in uprobe function names and tracepoint
events. A bare kernel function name (a kprobe) is refused: this kernel has no kprobes.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from ..errors import Error, NotSupportedError

TRACEFS = Path("/sys/kernel/tracing")
STT_FUNC = 2


@dataclass(frozen=True)
class Target:
    """One place to attach: a tracepoint (``binary`` empty) or a uprobe."""

    kind: str          # "tracepoint", "uprobe", "uretprobe"
    name: str          # "sched/sched_switch" or the function name
    binary: str = ""   # resolved path for uprobes

    @property
    def label(self) -> str:
        if self.kind == "tracepoint":
            return "t:" + self.name.replace("/", ":")
        return f"{self.binary}:{self.name}"


def parse(spec: str, pid: int | None = None, kinds: str = "tpu") -> tuple[str, str, str]:
    """(kind letter, library or category, function or event) of a probe spec."""
    parts = spec.split(":")
    if len(parts) == 3 and parts[0] in ("t", "u", "p", "r"):
        letter, where, what = parts
    elif len(parts) == 2:
        letter, (where, what) = "u", parts
    elif len(parts) == 1:
        raise NotSupportedError(
            "kernel function probes", detail=f"{spec!r} is a kernel function, which needs a "
            "kprobe (or fentry): this kernel has no kprobes (CONFIG_KPROBES) and its lockdown "
            "refuses fentry; use t:category:event or lib:function")
    else:
        raise Error(f"cannot parse probe {spec!r} (t:category:event, [u:]lib:function, "
                    "r:lib:function)")
    if letter == "p":
        letter = "u"
    if letter not in kinds:
        raise Error(f"probe {spec!r}: {letter}: probes are not supported by this tool")
    return letter, where, what


def expand(spec: str, pid: int | None = None, kinds: str = "tpu") -> list[Target]:
    """Every attach target ``spec`` names (globs expanded); an error when none."""
    letter, where, what = parse(spec, pid, kinds)
    if letter == "t":
        base = TRACEFS / "events"
        cats = [where] if not any(c in where for c in "*?[") else \
            sorted(p.name for p in base.iterdir() if fnmatch.fnmatch(p.name, where))
        out = []
        for cat in cats:
            d = base / cat
            if not d.is_dir():
                continue
            for ev in sorted(p.name for p in d.iterdir() if (p / "id").exists()):
                if fnmatch.fnmatch(ev, what):
                    out.append(Target("tracepoint", f"{cat}/{ev}"))
        if not out:
            raise Error(f"probe {spec!r}: no such tracepoint under {base}")
        return out
    from ..kernel.uprobe import open_elf, resolve_binary

    binary = resolve_binary("libc.so.6" if where in ("c", "libc") else where, pid)
    kind = "uretprobe" if letter == "r" else "uprobe"
    if not any(c in what for c in "*?["):
        return [Target(kind, what, binary)]
    seen: set[int] = set()
    out = []
    for sym in sorted(open_elf(binary).symbols(), key=lambda s: s.name):
        if sym.type != STT_FUNC or not sym.value or sym.value in seen:
            continue
        if fnmatch.fnmatch(sym.name, what):
            seen.add(sym.value)
            out.append(Target(kind, sym.name, binary))
    if not out:
        raise Error(f"probe {spec!r}: no function matching {what!r} in {binary}")
    return out


def attach(prog, target: Target, pid: int | None = None, cookie: int = 0):
    """Attach ``prog`` (a generic ``uprobe`` or ``tracepoint`` program) to ``target``."""
    if target.kind == "tracepoint":
        return prog.attach(tracepoint=target.name, cookie=cookie)
    kw = {"binary": target.binary, "symbol": target.name, "cookie": cookie}
    if target.kind == "uretprobe":
        kw["retprobe"] = True
    if pid:
        kw["pid"] = pid
    return prog.attach(**kw)


__all__ = ["Target", "attach", "expand", "parse"]
