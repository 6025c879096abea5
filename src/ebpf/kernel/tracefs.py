"""tracefs (and bpffs) access: finding or mounting them, tracepoint ids, probe PMUs.

tracefs lives at ``/sys/kernel/tracing`` (or ``/sys/kernel/debug/tracing`` on old
systems). When neither is mounted and we are root, :func:`tracefs_path` mounts it
with mount(2); otherwise it raises :class:`ebpf.NotSupportedError` saying how to
mount it by hand.

>>> from ebpf.kernel import tracefs
>>> tracefs.tracepoint_id("syscalls", "sys_enter_execve") > 0
True
>>> tracefs.pmu_type("uprobe") is not None  # the uprobe PMU is there
True
"""

from __future__ import annotations

import ctypes
import errno as _errno
import functools
import logging
import os
import re
from typing import Any

from .._internal.libc import function
from ..errors import AttachError, NotSupportedError, PrivilegeError, SystemCallError
from ..uapi.consts import BPF_FS_MAGIC as BPF_FS_MAGIC
from ..uapi.consts import DEBUGFS_MAGIC as DEBUGFS_MAGIC
from ..uapi.consts import TRACEFS_MAGIC as TRACEFS_MAGIC

log = logging.getLogger("ebpf.kernel.tracefs")

TRACEFS_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
BPFFS_DEFAULT = "/sys/fs/bpf"
EVENT_SOURCE = "/sys/bus/event_source/devices"


_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


@functools.cache
def _mount() -> Any:
    return function("mount")


def _mounts() -> dict[str, str]:
    """mount point -> filesystem type, from /proc/self/mounts."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    out[parts[1].replace("\\040", " ")] = parts[2]
    except OSError:
        pass
    return out


def mount_fs(fstype: str, target: str, source: str = "nodev") -> None:
    """mount(2) ``fstype`` at ``target`` (creating the directory). Needs root."""
    os.makedirs(target, exist_ok=True)
    rc = _mount()(source.encode(), target.encode(), fstype.encode(), 0, None)
    if rc != 0:
        err = ctypes.get_errno()
        if err == _errno.EBUSY and _mounts().get(target) == fstype:
            return
        if err == _errno.EPERM:
            raise PrivilegeError(f"mounting {fstype} at {target}", err, capability="CAP_SYS_ADMIN")
        raise SystemCallError(f"mounting {fstype} at {target}", err)
    log.info("mounted %s at %s", fstype, target)


_tracefs_cache: str | None = None


def tracefs_path() -> str:
    """The tracefs mount point, mounting tracefs at /sys/kernel/tracing when
    nothing is mounted and we may (root)."""
    global _tracefs_cache
    if _tracefs_cache and os.path.exists(os.path.join(_tracefs_cache, "events")):
        return _tracefs_cache
    mounts = _mounts()
    for cand in TRACEFS_CANDIDATES:
        if mounts.get(cand) == "tracefs" or os.path.exists(os.path.join(cand, "events")):
            _tracefs_cache = cand
            return cand
    if not os.path.isdir("/sys/kernel"):
        raise NotSupportedError("tracefs", detail="no /sys/kernel (not Linux, or sysfs not mounted)")
    if os.geteuid() != 0:
        raise NotSupportedError(
            "tracefs", detail="it is not mounted and only root can mount it "
            "(run: mount -t tracefs nodev /sys/kernel/tracing)")
    target = TRACEFS_CANDIDATES[0]
    try:
        mount_fs("tracefs", target)
    except SystemCallError as e:
        if e.errno == _errno.ENODEV:
            raise NotSupportedError("tracefs", detail="the kernel has no tracefs "
                                    "(CONFIG_TRACING off)") from e
        raise
    _tracefs_cache = target
    return target


def ensure_bpffs(path: str = BPFFS_DEFAULT) -> str:
    """Make sure a bpffs is mounted at ``path`` (default /sys/fs/bpf); mount it when
    root. Returns ``path``."""
    mounts = _mounts()
    if mounts.get(path) == "bpf":
        return path
    # a sub-directory of a bpffs mount is fine too
    parent = path
    while parent not in ("", "/"):
        if mounts.get(parent) == "bpf":
            return path
        parent = os.path.dirname(parent)
    if os.geteuid() != 0:
        raise NotSupportedError("bpffs", detail=f"nothing mounted at {path} and only root can "
                                f"mount it (run: mount -t bpf bpf {path})")
    mount_fs("bpf", path, source="bpf")
    return path


def _check_name(what: str, value: str) -> None:
    if not value or not _NAME_RE.match(value) or value in (".", ".."):
        raise AttachError(f"invalid tracepoint {what} {value!r}")


def tracepoint_id(category: str, name: str) -> int:
    """The id of tracepoint ``category/name`` (tracefs events/<cat>/<name>/id)."""
    _check_name("category", category)
    _check_name("name", name)
    base = tracefs_path()
    path = os.path.join(base, "events", category, name, "id")
    try:
        with open(path) as f:
            return int(f.read().strip())
    except FileNotFoundError:
        if not os.path.isdir(os.path.join(base, "events", category)):
            raise AttachError(f"no tracepoint category {category!r} (no {os.path.dirname(path)})",
                              _errno.ENOENT) from None
        raise AttachError(f"no tracepoint {category}/{name} (no {path})", _errno.ENOENT) from None
    except PermissionError as e:
        raise PrivilegeError(f"reading {path}", e.errno, capability="CAP_SYS_ADMIN") from None


def list_tracepoints(category: str | None = None) -> list[str]:
    """Tracepoints as "category/name", optionally of one category."""
    base = os.path.join(tracefs_path(), "events")
    cats = [category] if category else sorted(os.listdir(base))
    out = []
    for cat in cats:
        d = os.path.join(base, cat)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if os.path.isfile(os.path.join(d, name, "id")):
                out.append(f"{cat}/{name}")
    return out


def pmu_type(name: str) -> int | None:
    """The perf ``type`` of a dynamic PMU (``uprobe``, ``kprobe``), or None."""
    try:
        with open(os.path.join(EVENT_SOURCE, name, "type")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def pmu_format_bit(pmu: str, field: str) -> int | None:
    """The config bit of a PMU format field such as ``retprobe`` ("config:0" -> 0)."""
    try:
        with open(os.path.join(EVENT_SOURCE, pmu, "format", field)) as f:
            spec = f.read().strip()
    except OSError:
        return None
    m = re.match(r"config:(\d+)$", spec)
    return int(m.group(1)) if m else None


def have_kprobes() -> bool:
    """True when the kernel can make kprobes: a kprobe PMU or tracefs kprobe_events."""
    if pmu_type("kprobe") is not None:
        return True
    for cand in TRACEFS_CANDIDATES:
        if os.path.exists(os.path.join(cand, "kprobe_events")):
            return True
    try:
        return os.path.exists(os.path.join(tracefs_path(), "kprobe_events"))
    except Exception:  # noqa: BLE001 - no tracefs means no kprobe_events either
        return False


def require_kprobes(what: str = "kprobe") -> None:
    """Raise NotSupportedError when this kernel has no kprobes."""
    if not have_kprobes():
        raise NotSupportedError(
            what, detail="this kernel is built without kprobes (CONFIG_KPROBES is off: no "
            f"kprobe PMU in {EVENT_SOURCE} and no kprobe_events in tracefs); use fentry/fexit "
            "or a tracepoint instead")
