"""``bpf_sk_select_reuseport``: an SK_REUSEPORT program's choice of the socket
that gets the packet, from a REUSEPORT_SOCKARRAY, SOCKMAP or SOCKHASH, with the
kernel's results (net/core/filter.c): an empty slot ``-ENOENT``; a socket in no
reuseport group ``-ENOENT`` from a reuseport array (it was closed), ``-EINVAL``
from a sockmap; one of another group ``-EPROTOTYPE`` (another protocol),
``-EAFNOSUPPORT`` (another family) or ``-EBADFD`` (another address or port);
else 0, the choice recorded as the run's ``redirect``. The flags are not looked at.
"""

from __future__ import annotations

import errno

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..reuseport import ReuseportContext, socket_family_protocol
from ..run import Redirect, Run
from .table import get_map, helper, neg, run_context


@helper(H.sk_select_reuseport)
def sk_select_reuseport(run: Run, ctx, map_, key, flags, *_):
    from ..maps import SockHashMap, SockMapMap
    from ..maps.reuseport import ReuseportArrayMap

    c = run_context(run, ReuseportContext, "bpf_sk_select_reuseport", " needs an sk_reuseport "
                    "run (ctx=ebpf.vm.ReuseportRequest(sock, data))")
    m = get_map(run, map_)
    if not isinstance(m, (ReuseportArrayMap, SockMapMap, SockHashMap)):
        raise RuntimeFault(f"bpf_sk_select_reuseport on map {m.name} ({m.type.name}), which "
                           "is no REUSEPORT_SOCKARRAY, SOCKMAP or SOCKHASH")
    ref = m.sock(run.mem.read(key, m.key_size))
    if ref is None:
        return neg(errno.ENOENT)
    group = c.socket_group(ref.fd)
    if group is None:
        return neg(errno.ENOENT if isinstance(m, ReuseportArrayMap) else errno.EINVAL)
    if group != c.group:
        family, proto = socket_family_protocol(ref.fd)
        if proto != c.group[1]:
            return neg(errno.EPROTOTYPE)
        if family != c.group[0]:
            return neg(errno.EAFNOSUPPORT)
        return neg(errno.EBADFD)
    run.redirect = Redirect(0, 0, m.name, socket=ref.cookie)
    return 0
