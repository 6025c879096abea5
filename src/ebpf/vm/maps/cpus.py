"""How many virtual CPUs per-CPU maps have."""

from __future__ import annotations

import os

from ..._internal.host import possible_cpu_count

_num_cpus: int | None = None


def possible_cpus() -> int:
    """Number of virtual CPUs of per-CPU maps: ``EBPF_VM_CPUS``, else the host's
    possible CPUs (as the kernel counts them), else ``os.cpu_count()``."""
    global _num_cpus
    if _num_cpus is None:
        env = os.environ.get("EBPF_VM_CPUS")
        if env:
            _num_cpus = max(1, int(env))
        else:
            _num_cpus = possible_cpu_count() or os.cpu_count() or 1
    return _num_cpus


def set_num_cpus(n: int) -> None:
    """Set the number of virtual CPUs for maps created afterwards."""
    global _num_cpus
    if n < 1:
        raise ValueError("at least one CPU")
    _num_cpus = n

