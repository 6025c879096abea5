"""Which kernel objects are *ours*: other test runs on the same machine load and
attach programs with the same names at the same time, so waiting for "a program
called X is attached" must only count programs a given process holds."""

from __future__ import annotations

import os


def held_program_ids(pid: int | None = None) -> set[int]:
    """Ids of the programs process ``pid`` (default: this one) holds an fd of:
    program fds and link fds (their fdinfo names the program)."""
    pid = os.getpid() if pid is None else pid
    out: set[int] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return out
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        out.add(int(line.split()[1]))
        except (OSError, ValueError):
            continue
    return out


def attached_program_names(pid: int | None = None, *, anyone: bool = False) -> set[str]:
    """Names of the kernel programs that have a link (are attached) and that process
    ``pid`` (default: this one) holds; ``anyone=True`` for programs whose names are
    unique to the test (whoever holds them)."""
    from ebpf.kernel.info import list_links, list_programs

    linked = {link.prog_id for link in list_links()}
    if not anyone:
        linked &= held_program_ids(pid)
    return {p.name for p in list_programs() if p.id in linked}
