"""Attaching a cgroup program to a path that is not a cgroup v2 directory is a
clear AttachError (the kernel's bare EBADF before; issue #10 §2)."""

from __future__ import annotations

import errno

import pytest

import ebpf
from ebpf import isa

pytestmark = pytest.mark.kernel


def test_cgroup_attach_to_a_plain_directory_says_so(tmp_path):
    spec = ebpf.ProgramSpec(name="allow", type=ebpf.ProgramType.CGROUP_SKB,
                            attach_type=ebpf.AttachType.CGROUP_INET_INGRESS,
                            instructions=isa.assemble("r0 = 1\nexit"), license="GPL")
    (tmp_path / "file").write_text("x")
    with ebpf.Program.load(spec, backend="kernel") as prog:
        for target in (tmp_path, tmp_path / "file"):
            with pytest.raises(ebpf.AttachError) as e:
                prog.attach(cgroup=str(target))
            assert e.value.errno == errno.EBADF
            assert f"{target} is not a cgroup v2 directory" in str(e.value)
