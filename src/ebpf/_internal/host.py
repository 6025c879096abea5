"""What the running machine says, read in one place, each fact with a
fallback when it cannot be read (another OS, a container without /proc...).

>>> from ebpf._internal import host
>>> parse_cpu_list("0-3,6\\n")
[0, 1, 2, 3, 6]
>>> host.possible_cpu_count() >= 1
True
"""

from __future__ import annotations

import functools
import logging
import os
import re

log = logging.getLogger("ebpf.host")


# ---- CPUs ---------------------------------------------------------------------
def parse_cpu_list(text: str) -> list[int]:
    """``"0-3,6"`` (a /sys cpu list) → ``[0, 1, 2, 3, 6]``."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-")
            cpus.extend(range(int(lo), int(hi) + 1))
        else:
            cpus.append(int(part))
    return cpus


def _cpu_file(name: str) -> list[int] | None:
    try:
        with open(f"/sys/devices/system/cpu/{name}") as f:
            return parse_cpu_list(f.read()) or None
    except (OSError, ValueError):
        return None


def online_cpus() -> list[int]:
    """CPUs currently online (/sys/devices/system/cpu/online, else 0..cpu_count-1)."""
    return _cpu_file("online") or list(range(os.cpu_count() or 1))


def possible_cpus() -> list[int]:
    """CPUs that may ever exist (/sys/devices/system/cpu/possible, else the online ones)."""
    return _cpu_file("possible") or online_cpus()


@functools.cache
def possible_cpu_count() -> int:
    """How many possible CPUs (the kernel's num_possible_cpus(): values per key
    of a per-CPU map)."""
    return len(possible_cpus())


# ---- kernel version and configuration ------------------------------------------
def kernel_release() -> str:
    """``uname -r`` ("" when the platform has none)."""
    try:
        return os.uname().release
    except AttributeError:  # not a POSIX system
        return ""


@functools.cache
def kernel_version() -> tuple[int, int, int]:
    """The running kernel's (major, minor, patch); (0, 0, 0) when unknown."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", kernel_release()) if sys_is_linux() else None
    if not m:
        return (0, 0, 0)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def kernel_version_code() -> int:
    """LINUX_VERSION_CODE of the running kernel (KERNEL_VERSION(a, b, c), patch
    clamped to 255); 0 when unknown."""
    a, b, c = kernel_version()
    return (a << 16) + (b << 8) + min(c, 255)


def sys_is_linux() -> bool:
    import sys

    return sys.platform.startswith("linux")


@functools.cache
def kernel_config() -> dict[str, str]:
    """The running kernel's config as NAME → raw value ("y", "m", "n", "250",
    '"text"'), from /proc/config.gz or /boot/config-$(uname -r); empty when no
    config file is readable."""
    text = None
    try:
        import gzip

        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    except OSError:
        path = f"/boot/config-{kernel_release()}"
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            log.debug("no kernel config found (/proc/config.gz, %s)", path)
            return {}
    return parse_config(text)


def parse_config(text: str) -> dict[str, str]:
    """Parse Kconfig ``.config`` text."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:-len(" is not set")]] = "n"
        elif line.startswith("CONFIG_") and "=" in line:
            k, _, v = line.partition("=")
            out[k] = v
    return out
