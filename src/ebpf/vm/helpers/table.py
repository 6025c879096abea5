"""The helper table: ids to functions, kfunc ids, and what every helper shares."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.consts import BPF_F_CURRENT_CPU as BPF_F_CURRENT_CPU
from ...uapi.consts import BPF_F_INGRESS as BPF_F_INGRESS
from ...uapi.consts import TC_ACT_REDIRECT as TC_ACT_REDIRECT
from ...uapi.consts import TC_ACT_SHOT as TC_ACT_SHOT
from ...uapi.consts import XDP_ABORTED as XDP_ABORTED
from ...uapi.consts import XDP_DROP as XDP_DROP
from ...uapi.consts import XDP_PASS as XDP_PASS
from ...uapi.consts import XDP_REDIRECT as XDP_REDIRECT
from ...uapi.consts import XDP_TX as XDP_TX
from ..memory import M64, MAP_HANDLES
from ..run import Run

log = logging.getLogger("ebpf.vm")
C = TypeVar("C")

HELPERS: dict[int, Callable[..., int]] = {}

#: jiffies are counted at this rate (CONFIG_HZ of common distribution kernels)
HZ = 250


def helper(hid: H | int) -> Callable:
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        HELPERS[int(hid)] = fn
        setattr(fn, "helper_id", int(hid))  # noqa: B010 - a function attribute
        return fn
    return deco


def supported(hid: int) -> bool:
    return hid in HELPERS


def refusal(hid: int, prog_type: int, gpl: bool) -> str | None:
    """Why a program of ``prog_type`` (GPL-compatible or not) may not call
    helper ``hid``, or None when it may. The allow-lists are the verifier's
    platform tables (one home): a helper's group names the program types that
    may call it, as the kernel's ``get_func_proto`` of each type does."""
    from ...uapi import ProgramType
    from ...verifier import platform

    found = platform.helper_proto(hid)
    if found is None:  # not a kernel helper id: the runtime's own (kfuncs, CO-RE poison)
        return None
    name, proto = found
    try:
        pt = ProgramType(prog_type)
    except ValueError:
        return None
    if not platform.helper_allowed(proto, pt):
        return f"program of type {pt.name.lower()} cannot use helper bpf_{name}#{hid}"
    if proto.gpl and not gpl:
        return f"cannot call GPL-restricted function bpf_{name}#{hid} from non-GPL compatible program"
    return None


_ALLOWED: dict[tuple[int, bool], dict[int, Callable[..., int]]] = {}


def helpers_for(prog_type: int, gpl: bool) -> dict[int, Callable[..., int]]:
    """The helper table a program of ``prog_type`` runs with: every helper it
    may call; any other id (reached through ``callx``) faults, naming why."""
    key = (int(prog_type), gpl)
    table = _ALLOWED.get(key)
    if table is None or len(table) != len(HELPERS):
        table = {}
        for hid, fn in list(HELPERS.items()):
            why = refusal(hid, prog_type, gpl)
            table[hid] = fn if why is None else _refused(why)
        _ALLOWED[key] = table
    return table


def _refused(why: str) -> Callable[..., int]:
    def refused(run: Run, *_):
        raise RuntimeFault(why)
    return refused


#: kfuncs the runtime provides, by name: each runs as a helper with an id of
#: the runtime's own (``KFUNC_BASE`` and up); the loader rewrites kfunc calls
KFUNCS: dict[str, int] = {}
KFUNC_BASE = 0x4000_0000


#: where kfunc "addresses" (an lddw of a kfunc, as bpf_ksym_exists does) point
KFUNC_ADDR_BASE = 0xFFFF_FFFF_8000_0000
#: helper ids standing for calls to missing __weak kfuncs, by name
_MISSING_KFUNCS: dict[str, int] = {}
MISSING_KFUNC_BASE = 0x3000_0000


def missing_kfunc(name: str) -> int:
    """The helper id of a call to ``name``, a ``__weak`` kfunc the runtime does
    not provide: the call faults if reached."""
    hid = _MISSING_KFUNCS.get(name)
    if hid is None:
        hid = _MISSING_KFUNCS.setdefault(name, MISSING_KFUNC_BASE + len(_MISSING_KFUNCS))

        def missing(run: Run, *_):
            raise RuntimeFault(f"called kfunc {name}, which the vm does not provide (a __weak "
                               "ksym: guard the call with bpf_ksym_exists())")
        missing.__name__ = f"missing_{name}"
        HELPERS[hid] = missing
    return hid


def kfunc(name: str) -> Callable:
    """Register a kfunc (``fn(run, r1..r5) -> int`` like a helper)."""
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        hid = KFUNCS.setdefault(name, KFUNC_BASE + len(KFUNCS))
        HELPERS[hid] = fn
        setattr(fn, "helper_id", hid)  # noqa: B010 - a function attribute
        return fn
    return deco


def neg(e: int) -> int:
    """-errno as the unsigned 64-bit value a program sees in r0."""
    return -e & M64


def run_context(run: Run, kind: type[C], what: str, needs: str) -> C:
    """The run's context object (``run.context``) when it is a ``kind``; else a
    fault saying that helper ``what`` ``needs`` one (the text follows ``what``)."""
    c = run.context
    if not isinstance(c, kind):
        raise RuntimeFault(f"{what}{needs}")
    return c


def get_map(run: Run, addr: int, what: str = "map"):
    from ..maps import VMMap

    m = MAP_HANDLES.get(addr)
    if not isinstance(m, VMMap) or not run.mem.globals_.reaches(m):
        # another object's map is no map to this program (see AddressSpace)
        raise RuntimeFault(f"{what} argument {addr:#x} is not a map pointer")
    if m._closed:
        raise RuntimeFault(f"map {m.name} is closed")
    return m


#: the call CO-RE puts where a relocation could not be satisfied (libbpf's number)
CORE_POISON = 0xBAD2310


@helper(CORE_POISON)
def core_poison(run: Run, *_):
    """Reached an instruction whose CO-RE relocation failed: the kernel's verifier
    refuses such a program when the path is reachable; the runtime faults here."""
    reasons = [r.reason for r in getattr(run.program, "core_poisoned", [])]
    detail = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
    raise RuntimeFault("reached an instruction whose CO-RE relocation could not be "
                       f"satisfied{': ' + detail if detail else ''}")
