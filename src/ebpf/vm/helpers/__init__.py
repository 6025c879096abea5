"""Helper functions of the runtime, by the kernel's ids (``ebpf.HelperId``).

Each helper is ``fn(run, r1, r2, r3, r4, r5) -> int`` and behaves as its kernel
counterpart: the same return values and negative errnos, faults of
``bpf_probe_read*`` returned as ``-EFAULT`` (never a crash), and so on. Bad
arguments the kernel verifier would have refused (a pointer that is no map, a
buffer outside every region) raise :class:`ebpf.RuntimeFault`.

``HELPERS`` is the table; :func:`supported` answers the load-time check.
"""

from __future__ import annotations

# importing the domain modules registers their helpers in the table
from . import (  # noqa: F401
    arena,
    conntrack,
    dynptr,
    events,
    func_args,
    hdropts,
    kernel_lookup,
    kfuncs,
    locks,
    maps,
    netdev,
    packets,
    printing,
    probe,
    retval,
    reuseport,
    seq,
    signals,
    sk_lookup,
    skb_meta,
    skb_room,
    skmsg,
    sockcasts,
    sockets,
    sockops,
    sockopts,
    stacks,
    storage,
    strings,
    syncookies,
    sysctl,
    system,
    tasks,
    timers,
    vlan,
    xdp,
)
from .locks import release_locks
from .printing import TRACE
from .retval import CG_RETVAL_TYPES
from .table import (
    HELPERS,
    KFUNC_ADDR_BASE,
    KFUNCS,
    get_map,
    helpers_for,
    missing_kfunc,
    neg,
    refusal,
    supported,
)

__all__ = ["CG_RETVAL_TYPES", "HELPERS", "KFUNCS", "KFUNC_ADDR_BASE", "TRACE", "get_map",
           "helpers_for", "missing_kfunc", "neg", "refusal", "release_locks", "supported"]
