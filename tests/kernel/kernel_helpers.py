"""Helpers shared by the kernel backend tests."""

from __future__ import annotations

import os

from ebpf.kernel import commands
from ebpf.uapi import Command

BPFFS = "/sys/fs/bpf"


def open_fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


def kernel_ids(cmd: int) -> set[int]:
    return set(commands.iter_ids(cmd))


def snapshot() -> tuple[set[int], set[int], set[int]]:
    """(our fds, kernel program ids, kernel map ids)."""
    return open_fds(), kernel_ids(Command.PROG_GET_NEXT_ID), kernel_ids(Command.MAP_GET_NEXT_ID)


def held_by_other_processes() -> tuple[set[int], set[int]]:
    """(program ids, map ids) that other processes hold fds of. Other test suites
    run on this machine at the same time: their objects are not our leaks."""
    me = os.getpid()
    progs: set[int] = set()
    maps: set[int] = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    text = f.read()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("prog_id:"):
                    progs.add(int(line.split()[1]))
                elif line.startswith("map_id:"):
                    maps.add(int(line.split()[1]))
    pinned_p, pinned_m = pinned_ids()
    progs |= pinned_p
    maps |= pinned_m
    from ebpf.kernel.info import program_info

    for prog_id in list(progs):  # and the maps their programs use
        try:
            maps.update(program_info(prog_id).map_ids)
        except Exception:  # noqa: BLE001 - it went away meanwhile
            pass
    return progs, maps


def pinned_ids(root: str = BPFFS, limit: int = 2000) -> tuple[set[int], set[int]]:
    """(program ids, map ids) pinned on bpffs (links count for their program): other
    runs pin objects (``ebpf run --pin``, tests of pinning) that no process holds."""

    progs: set[int] = set()
    maps: set[int] = set()
    seen = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            seen += 1
            if seen > limit:
                return progs, maps
            try:
                fd = commands.obj_get(os.path.join(dirpath, name))
            except OSError:
                continue  # not a BPF object, or unpinned meanwhile
            with fd:
                try:
                    with open(f"/proc/self/fdinfo/{fd.fd}") as f:
                        for line in f:
                            if line.startswith("prog_id:"):
                                progs.add(int(line.split()[1]))
                            elif line.startswith("map_id:"):
                                maps.add(int(line.split()[1]))
                except OSError:
                    continue
    return progs, maps


def settled_snapshot(before, timeout: float = 10.0):
    """A snapshot taken once the kernel finished freeing what was closed (programs
    and the maps they held are released after an RCU grace period, later on a busy
    machine); ids that other processes hold or that are pinned are left out."""
    import gc
    import time

    gc.collect()
    deadline = time.monotonic() + timeout
    while True:
        fds, progs, maps = snapshot()
        new_p, new_m = progs - before[1], maps - before[2]
        if new_p or new_m:
            other_p, other_m = held_by_other_processes()
            progs -= new_p & other_p
            maps -= new_m & other_m
        if (progs <= before[1] and maps <= before[2]) or time.monotonic() > deadline:
            return fds, progs, maps
        time.sleep(0.02)
