"""bpf_snprintf_btf: kernel objects printed through the running kernel's BTF, as
the kernel's btf_show writes them (the same object on both backends; the kernel
is the reference: this kernel lets packet programs call it)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_btf_show.c")


def facts(path, backend: str) -> tuple[list[int], list[str]]:
    with ebpf.load(path, backend=backend) as obj:
        obj.programs["show"].test_run(bytes(64))
        v = obj.variables
        return (list(v["rets"].value),
                [bytes(x).split(b"\0")[0].decode() for x in v["out"].value])


def test_vm(obj_path):
    rets, out = facts(obj_path, "vm")
    assert out[0].startswith("(struct iphdr){\n .ihl = (__u8)0x5,\n .version = (__u8)0x4,\n")
    assert rets[0] == len(out[0])
    assert out[1] == "{0x5,0x4,64,6,{{16777343,},{16777343,},},}"
    assert out[3] == ("(struct ethhdr){\n .h_dest = (unsigned char[])[\n  1,\n  2,\n  'a',\n"
                      "  'b',\n  5,\n  6,\n ],\n .h_proto = (__be16)8,\n}\n")
    assert ".name = (char[])['c','o','u','n','t','s',]" in out[4]
    assert out[5] == "(struct timespec64){\n .tv_sec = (time64_t)-5,\n .tv_nsec = (long int)999,\n}\n"
    assert ".ptr = ( *)0xffff888812345678,\n" in out[6]  # void *: no type name, raw value
    assert out[7] == "(enum bpf_map_type)BPF_MAP_TYPE_RINGBUF\n"
    assert out[8] == "(struct bpf_tunnel_key){\n}\n"
    assert out[11] == "(struct i" and rets[11] == rets[0]
    assert rets[12:15] == [-errno.EINVAL] * 3


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
