"""struct_ops: a TCP congestion control implemented by BPF programs, registered
and unregistered, used by real loopback connections."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import ebpf
from ebpf.kernel.structops import StructOpsLink, resolve_struct_ops

pytestmark = pytest.mark.kernel
PROGS = Path(__file__).parent / "progs"
AVAILABLE = Path("/proc/sys/net/ipv4/tcp_available_congestion_control")


def available() -> set[str]:
    return set(AVAILABLE.read_text().split())


@pytest.fixture(scope="module")
def spec(bpf_compile):
    return ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "tcp_cc.bpf.c"))


def connect_with(cc: str) -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.socket()
    try:
        cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
        cli.connect(srv.getsockname())
        conn, _ = srv.accept()
        cli.sendall(b"x" * 200000)
        got = 0
        while got < 200000:
            got += len(conn.recv(65536))
        conn.close()
    finally:
        cli.close()
        srv.close()


def test_kernel_types_resolved(spec):
    kst = resolve_struct_ops(spec.maps["ebpf_cc"])
    assert kst.name == "tcp_congestion_ops" and kst.wrapper.name == \
        "bpf_struct_ops_tcp_congestion_ops"
    assert kst.member_index("ssthresh") == [m.name for m in kst.type.members].index("ssthresh")


def test_register_use_unregister(spec, no_leaks):
    with ebpf.load(spec, backend="kernel") as obj:
        assert "cc_unused" not in obj.programs  # no struct_ops map uses it (as libbpf)
        assert obj.maps["ebpf_cc"].info().type_name == "struct_ops"
        assert "ebpf_cc" not in available()  # loading does not register
        links = obj.attach()
        assert {lk.map.name for lk in links if isinstance(lk, StructOpsLink)} == \
            {"ebpf_cc", "ebpf_cc_link"}
        assert {"ebpf_cc", "ebpf_cc_link"} <= available()
        link_fd = next(lk for lk in links if lk.map.name == "ebpf_cc_link").fd
        assert link_fd > 0  # .struct_ops.link maps are attached through a BPF link
        from ebpf.kernel import info

        li = info.link_info_from_fd(link_fd)
        assert li.type_name == "struct_ops"
        assert li.detail["map_id"] == obj.maps["ebpf_cc_link"].id
        assert li.id in {lk.id for lk in info.list_links()}
        connect_with("ebpf_cc")
        assert obj.variables["inits"].value >= 1
        connect_with("ebpf_cc_link")
        assert obj.variables["inits"].value >= 2
    assert not ({"ebpf_cc", "ebpf_cc_link"} & available())  # close() unregistered both


def test_struct_ops_program_alone_is_refused(spec):
    with pytest.raises(ebpf.LoadError, match="struct_ops"):
        ebpf.Program.load(spec.programs["cc_init"])


def test_value_type_that_is_not_a_struct_is_refused():
    # a typedef named like the kernel struct, of an int: a LoadError naming the
    # map and the type (the value builder used to fail on int.members)
    from ebpf.btf import Int, Typedef
    from ebpf.spec import MapSpec
    from ebpf.uapi import MapType

    ms = MapSpec("cc", MapType.STRUCT_OPS, key_size=4, value_size=4, max_entries=1,
                 value_type=Typedef("tcp_congestion_ops", Int("int", 4, signed=True)))
    with pytest.raises(ebpf.LoadError, match=r"struct_ops map cc: its value type "
                       r"'tcp_congestion_ops' is a int, not a struct"):
        resolve_struct_ops(ms)
