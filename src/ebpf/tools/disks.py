"""Block devices for the bio* tools: kernel dev_t (major << 20 | minor) and names."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..errors import Error

#: the bio* tools' programs: the classic tp_btf hooks first, raw tracepoints next
BIO_VARIANTS = (("btf_insert", "btf_issue", "btf_complete"),
                ("raw_insert", "raw_issue", "raw_complete"))
REQ_OPS = {0: "R", 1: "W", 2: "F", 3: "D", 5: "S", 9: "Z"}


def split(dev: int) -> tuple[int, int]:
    """(major, minor) of a kernel-encoded dev_t."""
    return dev >> 20, dev & 0xFFFFF


@functools.lru_cache(maxsize=256)
def name_of(dev: int) -> str:
    """The disk name of a kernel-encoded dev_t (``sda``, ``loop3``), or ``MAJ:MIN``."""
    major, minor = split(dev)
    try:
        for line in Path(f"/sys/dev/block/{major}:{minor}/uevent").read_text().splitlines():
            if line.startswith("DEVNAME="):
                return line.split("=", 1)[1]
    except OSError:
        pass
    return f"{major}:{minor}"


def dev_of(name: str) -> int:
    """The kernel-encoded dev_t of disk ``name`` (``loop3`` or ``/dev/loop3``)."""
    path = Path(name) if name.startswith("/") else Path("/dev") / name
    try:
        st = os.stat(path)
    except OSError as e:
        raise Error(f"disk {name}: {e.strerror}") from None
    return (os.major(st.st_rdev) << 20) | os.minor(st.st_rdev)


def op_of(cmd_flags: int) -> str:
    """R/W/F/D... of a request's cmd_flags (REQ_OP_*)."""
    return REQ_OPS.get(cmd_flags & 0xFF, "?")


__all__ = ["BIO_VARIANTS", "dev_of", "name_of", "op_of", "split"]
