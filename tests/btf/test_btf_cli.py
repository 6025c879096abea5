"""``ebpf btf dump``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ebpf.cli import main

PROG = r"""
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event { __u32 pid; unsigned int flag: 3; __u64 ts; char comm[16]; };

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

const volatile int filter_pid = 0;
const struct event *unused_event __attribute__((unused));  /* put the type into BTF */

SEC("tracepoint/syscalls/sys_enter_execve")
int on_exec(void *ctx)
{
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    if (filter_pid && e->pid != filter_pid) {
        bpf_ringbuf_discard(e, 0);
        return 0;
    }
    e->ts = bpf_ktime_get_ns();
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""
needs_vmlinux = pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"),
                                   reason="no kernel BTF")


def test_dump_raw_object(bpf_compile, capsys):
    obj = bpf_compile(PROG, "cli_obj")
    assert main(["btf", "dump", str(obj)]) == 0
    out = capsys.readouterr().out
    assert "STRUCT 'event' size=32 vlen=4" in out
    assert "\t'flag' type_id=" in out and "bitfield_size=3" in out
    assert "FUNC 'on_exec' type_id=" in out and "linkage=global" in out
    assert "DATASEC '.rodata'" in out
    if shutil.which("bpftool"):
        ref = subprocess.run(["bpftool", "btf", "dump", "file", str(obj)], capture_output=True,
                             text=True, check=True).stdout
        assert out == ref


def test_dump_json_and_c(bpf_compile, capsys):
    obj = bpf_compile(PROG, "cli_obj")
    assert main(["btf", "dump", str(obj), "--json"]) == 0
    types = json.loads(capsys.readouterr().out)
    ev = next(t for t in types if t["name"] == "event")
    assert ev["kind"] == "STRUCT" and ev["size"] == 32
    assert [m["name"] for m in ev["members"]] == ["pid", "flag", "ts", "comm"]
    assert ev["members"][1]["bitfield_size"] == 3
    assert main(["btf", "dump", str(obj), "-f", "c", "-t", "struct event"]) == 0
    c = capsys.readouterr().out
    assert c.startswith("struct event {\n\t__u32 pid;\n\tunsigned int flag: 3;")
    assert main(["btf", "dump", str(obj), "-f", "c"]) == 0
    assert "#ifndef __VMLINUX_H__" in capsys.readouterr().out


def test_dump_errors(tmp_path, capsys):
    assert main(["btf", "dump", str(tmp_path / "missing.o")]) == 1
    assert "cannot read BTF" in capsys.readouterr().err
    junk = tmp_path / "junk.btf"
    junk.write_bytes(b"nonsense" * 8)
    assert main(["btf", "dump", str(junk)]) == 1
    assert "bad BTF magic" in capsys.readouterr().err
    elf = tmp_path / "nobtf.o"
    elf.write_bytes(b"\x7fELF" + b"\0" * 60)
    assert main(["btf", "dump", str(elf)]) == 1
    assert "error" in capsys.readouterr().err


@needs_vmlinux
def test_dump_vmlinux_types(capsys):
    assert main(["btf", "dump", "vmlinux", "-t", "struct xdp_md", "-t", "1"]) == 0
    out = capsys.readouterr().out
    assert "STRUCT 'xdp_md' size=24 vlen=6" in out and out.startswith("[")
    assert main(["btf", "dump", "/sys/kernel/btf/vmlinux", "-f", "c", "-t", "xdp_md"]) == 0
    assert "struct xdp_md {\n\t__u32 data;" in capsys.readouterr().out
    assert main(["btf", "dump", "vmlinux", "-t", "no_such_type_xyz"]) == 1
    assert "no BTF type" in capsys.readouterr().err
