"""Kernel lockdown detection: securityfs mounted when missing, and a refused load
reported as the lockdown (never a capability, never the verifier)."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys

import pytest

import ebpf
from ebpf.kernel import lockdown as kl
from ebpf.kernel.programs import _load_error, _verifier_ran

pytestmark = pytest.mark.kernel

READ_MODE = """
import ebpf.kernel.lockdown as kl
mode = kl.lockdown_mode()
mounted = any(line.split()[1:3] == ["/sys/kernel/security", "securityfs"]
              for line in open("/proc/self/mounts"))
print(mode, mounted)
"""


def test_lockdown_mode_mounts_securityfs_when_missing(lockdown):
    """In a private mount namespace without securityfs (a fresh machine), the
    library mounts it and reads the same mode the tests read."""
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) is needed: tools/install-sysdeps.sh installs it")
    script = ("umount /sys/kernel/security 2>/dev/null; "
              "grep -q ' /sys/kernel/security ' /proc/self/mounts && exit 3; "
              f"exec {sys.executable} -c '{READ_MODE}'")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [lockdown, "True"]
    assert lockdown in ("none", "integrity", "confidentiality")


def test_verifier_ran_ignores_a_statistics_only_log():
    assert not _verifier_ran("")
    assert not _verifier_ran("processed 0 insns (limit 1000000) max_states_per_insn 0 "
                             "total_states 0 peak_states 0 mark_read 0\n")
    assert _verifier_ran("0: (95) exit\nR0 !read_ok\nprocessed 1 insns (limit 1000000)\n")


def test_eperm_on_tracing_load_is_lockdown_only_when_locked_down(lockdown):
    spec = ebpf.ProgramSpec(name="f", type=ebpf.ProgramType.TRACING, section="fentry/x")
    e = _load_error(spec, errno.EPERM, "processed 0 insns (limit 1000000)\n")
    assert isinstance(e, ebpf.PrivilegeError)
    if lockdown in ("integrity", "confidentiality") and kl.fully_privileged():
        assert e.capability is None
        assert f"kernel lockdown ({lockdown}) refuses fentry/fexit/LSM/iter programs" in str(e)
    else:
        assert e.capability == "CAP_PERFMON" and "lockdown" not in str(e)
    # a socket filter is never a lockdown matter
    sf = ebpf.ProgramSpec(name="s", type=ebpf.ProgramType.SOCKET_FILTER)
    e2 = _load_error(sf, errno.EPERM, "")
    assert e2.capability == "CAP_BPF" and "lockdown" not in str(e2)
