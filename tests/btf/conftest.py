from __future__ import annotations

import os

import pytest

VMLINUX = "/sys/kernel/btf/vmlinux"


@pytest.fixture(scope="session")
def kspec():
    if not os.path.exists(VMLINUX):
        pytest.skip("no kernel BTF")
    from ebpf import btf

    return btf.load_kernel_btf()
