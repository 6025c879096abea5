"""The same clang- and zig-built objects run in the user-space runtime (no
kernel needed) with the results the kernel gives (see test_toolchain_kernel)."""

from __future__ import annotations

import struct

import pytest
from test_toolchain_kernel import XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, eth, ipv4, tcp_syn, udp
from toolchain_support import COMPILERS

import ebpf


@pytest.mark.parametrize("cc", COMPILERS)
def test_xdp_filter_in_vm(build, cc):
    with ebpf.load(build("xdp_filter", cc).obj, backend="vm",
                   constants={"blocked_port": 53}) as obj:
        prog = obj.programs["xdp_filter_prog"]
        assert prog.test_run(data=eth(0x0800, ipv4(17, udp(53)))).retval == XDP_DROP
        assert prog.test_run(data=eth(0x0800, ipv4(17, udp(54)))).retval == XDP_PASS
        assert prog.test_run(data=eth(0x0800, ipv4(6, tcp_syn(80)))).retval == XDP_PASS
        assert prog.test_run(data=eth(0x0800, b"\x45")).retval == XDP_ABORTED
        tagged = eth(0x8100, struct.pack(">HH", 5, 0x0800) + ipv4(17, udp(53)))
        assert prog.test_run(data=tagged).retval == XDP_DROP
        assert obj.variables["dropped"].value == 2
        assert obj.variables["seen_tcp_syn"].value == 1
        assert sum(r.packets for r in obj.maps["proto_stats"][17]) == 3


@pytest.mark.parametrize("cc", COMPILERS)
def test_tail_calls_in_vm(build, cc):
    with ebpf.load(build("tail_calls", cc).obj, backend="vm") as obj:
        dispatch = obj.programs["dispatch"]
        got = [dispatch.test_run(data=eth(p, b"\0" * 40)).retval
               for p in (0x0800, 0x86DD, 0x0806, 0x0800)]
        assert got == [XDP_DROP, XDP_TX, XDP_PASS, XDP_DROP]
        assert list(obj.variables["stage_hits"].value) == [2, 1, 1]
