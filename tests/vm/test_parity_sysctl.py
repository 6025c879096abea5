"""CGROUP_SYSCTL helpers (bpf_sysctl_get_name / get_current_value / get_new_value /
set_new_value) and bpf_get_retval / bpf_set_retval, kernel against vm on the same
object. The kernel cannot test-run cgroup/sysctl programs: its side attaches the
program to a cgroup of the test's own and has a process in that cgroup (and in
the test's own network namespace) read and write net.ipv4.ip_default_ttl; the vm
runs the program on a SysctlRequest for the same sysctl and value. Compared:
everything the program recorded (every helper's return value and the bytes it
copied, per read and per write), what the read and the write returned to the
process, and the value the write left."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ebpf
from ebpf.vm import SysctlRequest

PROGS = Path(__file__).parent / "progs"
NAME = "net/ipv4/ip_default_ttl"

# a process of the cgroup reads the sysctl once and writes it once
CHILD = """
import json, os, sys
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
out = {}
for what, flags, data in (("read", os.O_RDONLY, None), ("write", os.O_WRONLY, b"65\\n")):
    fd = os.open("/proc/sys/" + sys.argv[2], flags)
    try:
        out[what] = os.read(fd, 100).decode() if data is None else os.write(fd, data)
    except OSError as e:
        out[what] = -e.errno
    os.close(fd)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sysctl.c")


def ttl() -> str:
    return Path(f"/proc/sys/{NAME}").read_text()


def vm_side(obj_path, deny: int) -> tuple[bytes, dict]:
    with ebpf.load(obj_path, backend="vm") as obj:
        obj.variables["deny"].value = deny
        prog = obj.programs["audit"]
        read = prog.test_run(ctx=SysctlRequest(NAME))
        write = prog.test_run(ctx=SysctlRequest(NAME, new_value=b"65\n"))
        out = {"read": read.cgroup_retval, "write": write.cgroup_retval,
               "written": write.data if write.cgroup_retval == 0 else None}
        if out["read"] == 0:
            out["read"] = ttl()  # the vm reads nothing for the process: the file's text
        if out["write"] == 0:  # a write returns the length of what was written
            out["write"] = len(write.data)
        return obj.variables["recs"].raw, out


def kernel_side(obj_path, cgroup: Path, deny: int) -> tuple[bytes, dict]:
    before = ttl()
    with ebpf.load(obj_path, backend="kernel") as obj:
        obj.variables["deny"].value = deny
        with obj.programs["audit"].attach(cgroup=str(cgroup)):
            res = subprocess.run([sys.executable, "-c", CHILD, str(cgroup), NAME],
                                 capture_output=True, text=True, check=True)
        out = json.loads(res.stdout)
        after = ttl()
        out["written"] = after.strip().encode() if out["write"] >= 0 else None
        if out["write"] < 0:
            assert after == before, out
        return obj.variables["recs"].raw, out


def test_request_current_value():
    req = SysctlRequest("kernel/ostype", current=b"Linux\n")
    assert req.current_value() == b"Linux\n"
    assert SysctlRequest("no/such/sysctl").current_value() == b""


@pytest.mark.parametrize("deny", [0, 1, 2, 3])
def test_vm_results(obj_path, deny):
    with ebpf.load(obj_path, backend="vm") as obj:
        obj.variables["deny"].value = deny
        prog = obj.programs["audit"]
        w = prog.test_run(ctx=SysctlRequest(NAME, new_value=b"65\n", current=b"64\n"))
        r = prog.test_run(ctx=SysctlRequest(NAME, current=b"64\n"))
        rec = obj.variables["recs"].value
    want = {0: 0, 1: -errno.EPERM, 2: -errno.E2BIG, 3: -errno.E2BIG}[deny]
    assert w.cgroup_retval == r.cgroup_retval == want
    assert w.data == b"66" and r.data == b""
    rd, wr = rec[0], rec[1]
    assert (wr["name_ret"], bytes(wr["name"]).rstrip(b"\0")) == (len(NAME), NAME.encode())
    assert (wr["short_ret"], bytes(wr["short_name"])) == (-errno.E2BIG, b"net/ipv\0")
    assert (wr["base_ret"], bytes(wr["base"]).rstrip(b"\0")) == (14, b"ip_default_ttl")
    assert (wr["cur_ret"], bytes(wr["cur"])) == (3, b"64\n".ljust(16, b"\0"))
    assert (wr["cur_short_ret"], bytes(wr["cur_short"])) == (-errno.E2BIG, b"6\0")
    assert (wr["new_ret"], wr["new_short_ret"], bytes(wr["new_short"])) == (3, -errno.E2BIG, b"6\0")
    assert (wr["set_big_ret"], wr["set_ret"]) == (-errno.E2BIG, 0)
    assert (rd["new_ret"], bytes(rd["newv"]), rd["set_ret"]) == (-errno.EINVAL, bytes(16),
                                                                   -errno.EINVAL)
    assert (rd["retval_before"], rd["retval_after"]) == (0, -7 if deny in (2, 3) else 0)
    assert rd["seen"] == wr["seen"] == 1 and (rd["write"], wr["write"]) == (0, 1)


@pytest.mark.kernel
@pytest.mark.parametrize("deny", [0, 1, 2, 3])
def test_same_as_kernel(obj_path, own_netns, own_cgroup, deny):
    vm_recs, vm_out = vm_side(obj_path, deny)
    k_recs, k_out = kernel_side(obj_path, own_cgroup, deny)
    assert k_out == vm_out
    assert k_recs == vm_recs
