"""How many virtual CPUs per-CPU maps have."""

from __future__ import annotations

import os

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
            _num_cpus = _read_possible() or os.cpu_count() or 1
    return _num_cpus


def set_num_cpus(n: int) -> None:
    """Set the number of virtual CPUs for maps created afterwards."""
    global _num_cpus
    if n < 1:
        raise ValueError("at least one CPU")
    _num_cpus = n


def _read_possible() -> int | None:
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
    except OSError:
        return None
    count = 0
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            count += int(hi) - int(lo) + 1
        elif part:
            count += 1
    return count or None
