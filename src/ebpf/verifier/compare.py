"""The kernel as the reference: load a program through bpf(2) and read its
verifier's verdict, to compare with ours (``ebpf verify --against-kernel``,
tests, ``make bench``).

Maps are created without pinning (nothing is left behind on the machine) and
everything is closed before returning.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from ..errors import Error, VerifierError


@dataclass
class KernelVerdict:
    program: str
    #: True/False: the kernel accepted/rejected it; None: it could not judge
    #: (not loadable here for another reason, such as lockdown or a missing target)
    accepted: bool | None
    error: str = ""
    log: str = ""
    verification_time_us: int | None = None
    processed_insns: int | None = None


_TIME = re.compile(r"verification time (\d+) usec")
_PROCESSED = re.compile(r"processed (\d+) insns")


def _last_line(log: str) -> str:
    lines = [ln for ln in log.splitlines() if ln.strip() and not ln.startswith(
        ("processed ", "verification time", "stack depth", "max_states_per_insn"))]
    return lines[-1] if lines else ""


def kernel_verdict(spec: Any, program: str) -> KernelVerdict:
    """Load ``program`` of ObjectSpec ``spec`` into the kernel (alone, maps
    unpinned) and report whether its verifier accepted it."""
    from ..objects import load

    spec = copy.copy(spec)
    spec.maps = {n: _unpinned(ms) for n, ms in spec.maps.items()}
    try:
        # level 1 (the error) | 4 (BPF_LOG_STATS: "verification time")
        obj = load(spec, backend="kernel", programs=[program], log_level=5,
                   log_size=16 << 20)
    except VerifierError as e:
        log = e.log or ""
        if not log.strip():
            return KernelVerdict(program, None, f"rejected without a log: {e}")
        m = _TIME.search(log)
        p = _PROCESSED.search(log)
        if p is not None and p.group(1) == "0" and not _last_line(log):
            # refused before verification (lockdown, attach target): no verdict
            return KernelVerdict(program, None, f"refused before verification: {e}"
                                 .splitlines()[0], log)
        return KernelVerdict(program, False, _last_line(log), log,
                             int(m.group(1)) if m else None, int(p.group(1)) if p else None)
    except (Error, OSError) as e:
        return KernelVerdict(program, None, f"{type(e).__name__}: {e}".splitlines()[0])
    with obj:
        prog = obj.programs[program]
        log = getattr(prog, "verifier_log", "") or ""
        m = _TIME.search(log)
        p = _PROCESSED.search(log)
        return KernelVerdict(program, True, "", log, int(m.group(1)) if m else None,
                             int(p.group(1)) if p else None)


def _unpinned(ms: Any) -> Any:
    from ..spec import PinType

    if getattr(ms, "pinning", PinType.NONE) == PinType.NONE:
        return ms
    c = ms.copy()
    c.pinning = PinType.NONE
    return c
