"""Workloads the tool tests start: private namespaces, cgroups, small C programs."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000

# Python run in a child: unshare() through libc (os.unshare is Python 3.12+)
UNSHARE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def unshare(flags):
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
"""


class Child:
    """A started child waiting for :meth:`go`; ``out``/``err`` hold its output after."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.pid = popen.pid
        self.out = self.err = ""

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def go(self, timeout: float = 60) -> None:
        self.out, self.err = self.popen.communicate("go\n", timeout=timeout)


def python_child(code: str, *, prelude: str = "", ready: bool = False, **kw) -> Child:
    """A Python child running ``UNSHARE`` + ``code``; it waits for a line on stdin first
    (so a tool can be attached, and the child's pid known, before it acts).

    ``prelude`` runs before that wait. ``ready=True``: the child says "ready" on stdout
    just before it waits, and this returns once it sleeps in that wait, so a tool
    attached afterwards sees nothing of the interpreter's start (its page faults,
    reads, preemptions) and sees the wakeup that "go" brings."""
    src = UNSHARE + "import sys\n" + prelude + \
        ("print('ready', flush=True)\n" if ready else "") + "sys.stdin.readline()\n" + code
    child = Child(subprocess.Popen([sys.executable, "-c", src], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   **kw))
    if ready:
        assert child.popen.stdout is not None
        line = child.popen.stdout.readline()
        if line != "ready\n":
            child.popen.kill()
            raise AssertionError(f"child did not start: {line!r} {child.popen.stderr.read()!r}")
        # then asleep in its read of stdin (a busy machine may not have run it that far)
        stat = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 60
        while stat.read_text().rpartition(")")[2].split()[0] != "S":
            if time.monotonic() > deadline:
                child.popen.kill()
                raise AssertionError("child never blocked reading stdin")
            time.sleep(0.001)
    return child


def go(child: Child, timeout: float = 60) -> None:
    """Let a ``python_child`` run to its end (its output lands in ``child.out``)."""
    child.go(timeout)


@contextlib.contextmanager
def memory_cgroup(limit: int) -> Iterator[Path]:
    """A fresh memory cgroup (v1 memory controller or v2) limited to ``limit`` bytes,
    without swap; yields the file to write a pid into."""
    name = "ebpf-test-" + uuid.uuid4().hex[:8]
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists():
        d = v1 / name
        d.mkdir()
        try:
            (d / "memory.limit_in_bytes").write_text(str(limit))
            with contextlib.suppress(OSError):
                (d / "memory.memsw.limit_in_bytes").write_text(str(limit))
            yield d / "cgroup.procs"
        finally:
            _rmdir(d)
        return
    root = Path("/sys/fs/cgroup/unified") if Path("/sys/fs/cgroup/unified").is_dir() \
        else Path("/sys/fs/cgroup")
    d = root / name
    d.mkdir()
    try:
        (d / "memory.max").write_text(str(limit))
        with contextlib.suppress(OSError):
            (d / "memory.swap.max").write_text("0")
        yield d / "cgroup.procs"
    finally:
        _rmdir(d)


def _rmdir(d: Path) -> None:
    import time

    for _ in range(50):
        try:
            d.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def build_c(tmp: Path, name: str, source: str) -> Path:
    """Compile a small C program with the zig C compiler the package depends on."""
    src = tmp / f"{name}.c"
    src.write_text(source)
    exe = tmp / name
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-O0", "-g", "-fno-inline",
                    "-o", str(exe), str(src)], check=True, capture_output=True, timeout=300)
    return exe




@contextlib.contextmanager
def loop_device(tmp: Path, size: int = 8 << 20) -> Iterator[str]:
    """A loop device over a fresh file; yields its name (``loop3``)."""
    backing = tmp / "disk.img"
    with open(backing, "wb") as f:
        f.truncate(size)
    dev = subprocess.run(["losetup", "--find", "--show", str(backing)], check=True,
                         capture_output=True, text=True).stdout.strip()
    try:
        yield Path(dev).name
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)


def direct_io(disk: str, reads: int, writes: int, size: int = 4096) -> None:
    """``reads`` O_DIRECT reads then ``writes`` O_DIRECT writes of ``size`` bytes at
    distinct offsets of /dev/``disk``: exactly that many block requests."""
    import mmap
    import os

    buf = mmap.mmap(-1, size)  # page-aligned, as O_DIRECT wants
    fd = os.open(f"/dev/{disk}", os.O_RDWR | os.O_DIRECT)
    try:
        for i in range(reads):
            assert os.preadv(fd, [buf], i * 2 * size) == size
        for i in range(writes):
            assert os.pwritev(fd, [buf], (64 + i * 2) * size) == size
    finally:
        os.close(fd)


__all__ = ["CLONE_NEWNET", "CLONE_NEWNS", "Child", "build_c", "direct_io", "go", "loop_device",
           "memory_cgroup", "python_child"]
