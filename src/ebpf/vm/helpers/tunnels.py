"""Tunnel metadata of an skb (``bpf_skb_get_tunnel_key``/``_opt``).

A packet a program runs on in the runtime (a test run, a capture, bytes from
Python) arrived on no tunnel device, so it carries no tunnel metadata, as a
``BPF_PROG_TEST_RUN`` skb on the kernel carries none: the getters fail as the
kernel's do then, and clear the buffer they were given.
"""

from __future__ import annotations

import errno

from ...uapi import HelperId as H
from ..run import Run
from .table import helper, neg

#: the flags bpf_skb_get_tunnel_key accepts (BPF_F_TUNINFO_IPV6, BPF_F_TUNINFO_FLAGS)
_GET_KEY_FLAGS = (1 << 0) | (1 << 4)


@helper(H.skb_get_tunnel_key)
def skb_get_tunnel_key(run: Run, skb, to, size, flags, *_):
    # no tunnel info (or flags it does not know): -EINVAL, the key cleared
    del flags  # both outcomes are -EINVAL without tunnel metadata
    run.mem.zero(to, size & 0xFFFF_FFFF)
    return neg(errno.EINVAL)


@helper(H.skb_get_tunnel_opt)
def skb_get_tunnel_opt(run: Run, skb, to, size, *_):
    # no tunnel info, so no options: -ENOENT, the buffer cleared
    run.mem.zero(to, size & 0xFFFF_FFFF)
    return neg(errno.ENOENT)
