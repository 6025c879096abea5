"""cgroup v2 facts the runtime answers for the calling thread, as the kernel
would for ``current``: its cgroup id (the kernfs inode number of its cgroup
directory) and whether it lies under a given cgroup.

>>> from ebpf.vm import cgroups
>>> cgroups.current_cgroup_id() >= 0
True
"""

from __future__ import annotations

import errno
import functools
import os
import stat

from ..errors import MapError

#: a cgroup as the runtime remembers it: (st_dev, st_ino) of its directory
CgroupKey = tuple[int, int]


@functools.cache
def cgroup2_mount() -> str | None:
    """Mount point of the cgroup v2 hierarchy (from /proc/self/mountinfo), or None."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if right.split(" ", 1)[0] == "cgroup2":
                    return left.split(" ")[4].replace("\\040", " ")
    except OSError:
        pass
    return None


def current_cgroup_dir() -> str | None:
    """Directory of the calling thread's cgroup v2 (None without cgroup v2)."""
    root = cgroup2_mount()
    if root is None:
        return None
    for source in ("/proc/thread-self/cgroup", "/proc/self/cgroup"):
        try:
            with open(source) as f:
                for line in f:
                    hier, _, path = line.rstrip("\n").split(":", 2)
                    if hier == "0":
                        return os.path.join(root, path.lstrip("/"))
        except (OSError, ValueError):
            continue
    return None


def current_cgroup_id() -> int:
    """bpf_get_current_cgroup_id: the kernfs id of the caller's cgroup v2, 0 if none."""
    d = current_cgroup_dir()
    if d is None:
        return 0
    try:
        return os.stat(d).st_ino
    except OSError:
        return 0


def cgroup_of_fd(fd: int, where: str) -> CgroupKey:
    """The cgroup an fd opened on a cgroup v2 directory stands for. Any other fd
    is refused with EBADF, as the kernel's cgroup_get_from_fd does."""
    root = cgroup2_mount()
    try:
        st = os.fstat(fd)
    except OSError:
        raise MapError(f"{where}: fd {fd} is not open", errno.EBADF) from None
    if root is None:
        raise MapError(f"{where}: fd {fd}: no cgroup v2 hierarchy is mounted", errno.EBADF)
    if not stat.S_ISDIR(st.st_mode) or st.st_dev != os.stat(root).st_dev:
        raise MapError(f"{where}: fd {fd} is not a cgroup v2 directory (under {root})",
                       errno.EBADF)
    return st.st_dev, st.st_ino


def current_under(key: CgroupKey) -> bool:
    """Whether the calling thread's cgroup is ``key`` or one of its descendants
    (task_under_cgroup_hierarchy)."""
    d = current_cgroup_dir()
    root = cgroup2_mount()
    if d is None or root is None:
        return False
    root = os.path.normpath(root)
    d = os.path.normpath(d)
    while True:
        try:
            st = os.stat(d)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) == key:
            return True
        if d == root or len(d) <= len(root):
            return False
        d = os.path.dirname(d)
