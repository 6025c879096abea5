"""Label decoders: map-key bytes -> Prometheus label values, as ebpf_exporter names them.

Each decoder takes bytes and gives bytes, so they chain (``string`` then ``regexp``).
A decoder that cannot make sense of its input raises :class:`DecodeError` (counted
in ``ebpf_exporter_decoder_errors_total``, the key is left out); ``regexp`` raises
:class:`SkipLabelSet` when nothing matches (the key is left out, not an error).

>>> from ebpf.export.config import Decoder, Label
>>> ds = DecoderSet()
>>> ds.decode_labels(b"\\x03\\x00\\x00\\x00bash\\x00\\x00\\x00\\x00",
...     (Label("op", 4, 0, (Decoder("uint"), Decoder("static_map", {"3": "write"}))),
...      Label("comm", 8, 0, (Decoder("string"),))))
('write', 'bash')
"""

from __future__ import annotations

import bisect
import errno as _errno
import ipaddress
import logging
import os
import platform
import re
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import Decoder, Label

log = logging.getLogger("ebpf.export")


class DecodeError(Exception):
    """A decoder could not decode its input (counted, never fatal)."""


class SkipLabelSet(Exception):
    """A ``regexp`` decoder matched nothing: leave this key out."""


class Kallsyms:
    """Kernel address -> symbol name, from a kallsyms file (``/proc/kallsyms``).

    Symbols in modules carry the module, as ``name\\t[module]``.
    """

    def __init__(self, path: str | os.PathLike = "/proc/kallsyms"):
        self.path = Path(path)
        self._addrs: list[int] = []
        self._names: list[str] = []
        self._loaded = False

    def _load(self) -> None:
        from ..symbols.kallsyms import read_kallsyms

        rows: list[tuple[int, str]] = []
        try:
            for addr, _, name, module in read_kallsyms(str(self.path)):
                if addr:  # 0: hidden (kptr_restrict) or absolute zero
                    rows.append((addr, name + (f"\t[{module}]" if module else "")))
        except OSError as e:
            log.warning("cannot read %s: %s (ksym/kstack labels will be unknown)", self.path, e)
        rows.sort()
        self._addrs = [a for a, _ in rows]
        self._names = [n for _, n in rows]
        self._loaded = True

    def symbol(self, addr: int) -> str:
        """The symbol containing ``addr`` (the nearest one at or below), "" if none."""
        if not self._loaded:
            self._load()
        i = bisect.bisect_right(self._addrs, addr) - 1
        return self._names[i] if i >= 0 else ""


_UNISTD = {
    "x86_64": ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"),
    "aarch64": ("/usr/include/asm-generic/unistd.h",),
}
_NR = re.compile(r"^#define\s+__NR_(\w+)\s+(\d+)\s*$", re.M)


def syscall_table(paths: Sequence[str] | None = None) -> dict[int, str]:
    """System call number -> name for this machine, from the installed unistd header
    (Debian ``linux-libc-dev``); empty when no header is there."""
    for path in paths or _UNISTD.get(platform.machine(), ("/usr/include/asm/unistd_64.h",)):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        table: dict[int, str] = {}
        for name, nr in _NR.findall(text):
            table.setdefault(int(nr), name)
        if table:
            return table
    log.warning("no unistd header found: syscall labels will be unknown_syscall:N")
    return {}


class CgroupPaths:
    """cgroup id (the cgroup directory's inode on cgroup v2) -> its path.

    ``root`` defaults to where cgroup v2 is mounted (``/sys/fs/cgroup``, or
    ``/sys/fs/cgroup/unified`` on hybrid systems): ``bpf_get_current_cgroup_id()``
    numbers v2 cgroups."""

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            from ..vm.cgroups import cgroup2_mount

            root = cgroup2_mount() or "/sys/fs/cgroup"
        self.root = Path(root)
        self._paths: dict[int, str] = {}

    def _scan(self) -> None:
        paths: dict[int, str] = {}
        for top, _dirs, _files in os.walk(self.root):
            try:
                paths[os.stat(top).st_ino] = top
            except OSError:
                continue
        self._paths = paths

    def resolve(self, cgroup_id: int) -> str:
        if cgroup_id not in self._paths:
            self._scan()  # a new cgroup since the last scan
        return self._paths.get(cgroup_id, "")


def _le_uint(raw: bytes) -> int:
    if len(raw) not in (1, 2, 4, 8):
        raise DecodeError(f"uint: unknown value length {len(raw)} for {raw.hex()}")
    return int.from_bytes(raw, "little")


def _number(raw: bytes, what: str) -> int:
    try:
        return int(raw.decode())
    except (UnicodeDecodeError, ValueError):
        raise DecodeError(f"{what}: {raw!r} is not a decimal number (put uint first)") from None


def _dname(raw: bytes) -> bytes:
    """DNS wire-format name (length-prefixed labels) -> dotted; input unchanged if malformed."""
    if not raw:
        return b"."
    parts = []
    off = 0
    while off < len(raw):
        n = raw[off]
        off += 1
        if off + n > len(raw):
            return raw
        parts.append(raw[off:off + n])
        off += n
    return b".".join(parts)


def _regexp(raw: bytes, dec: Decoder, compiled: dict[str, re.Pattern[bytes]]) -> bytes:
    for expr in dec.regexps:
        pat = compiled.get(expr)
        if pat is None:
            pat = compiled[expr] = re.compile(expr.encode())
        m = pat.search(raw)
        if m is None:
            continue
        if pat.groups == 1:
            return m.group(1) or b""
        if pat.groups == 0:
            return m.group(0)
    raise SkipLabelSet()


class DecoderSet:
    """All decoders, with what they read from the host loaded on first use.

    ``kallsyms``, ``cgroup_root``, ``partitions`` and ``unistd`` can point at other
    files (tests, or a host filesystem mounted elsewhere in a container).
    """

    def __init__(self, *, kallsyms: str | os.PathLike = "/proc/kallsyms",
                 cgroup_root: str | os.PathLike | None = None,
                 partitions: str | os.PathLike = "/proc/partitions",
                 unistd: Sequence[str] | None = None):
        self.kallsyms = Kallsyms(kallsyms)
        self.cgroups = CgroupPaths(cgroup_root)
        self._partitions = Path(partitions)
        self._unistd = unistd
        self._syscalls: dict[int, str] | None = None
        self._regexps: dict[str, re.Pattern[bytes]] = {}
        self._devices: dict[tuple[int, int], str] = {}
        self._fns: dict[str, Callable[[bytes, Decoder], bytes]] = {
            "uint": lambda b, d: str(_le_uint(b)).encode(),
            "string": lambda b, d: b.split(b"\0", 1)[0],
            "hex": lambda b, d: b.hex().encode(),
            "ksym": self._ksym,
            "kstack": self._kstack,
            "syscall": self._syscall,
            "errno": self._errno,
            "inet_ip": self._inet_ip,
            "ifname": self._ifname,
            "cgroup": self._cgroup,
            "majorminor": self._majorminor,
            "dname": lambda b, d: _dname(b),
            "static_map": self._static_map,
            "regexp": lambda b, d: _regexp(b, d, self._regexps),
        }

    # -- one label -------------------------------------------------------------------------

    def decode(self, raw: bytes, label: Label) -> str:
        value = raw
        for dec in label.decoders:
            try:
                value = self._fns[dec.name](value, dec)
            except (DecodeError, SkipLabelSet):
                raise
            except Exception as e:  # noqa: BLE001 - a decoder bug must not stop the exporter
                raise DecodeError(f"{dec.name}: {e}") from None
        return value.decode("utf-8", "replace")

    def decode_labels(self, raw: bytes, labels: Sequence[Label]) -> tuple[str, ...]:
        """Label values for one map key; its size must be the labels' sizes plus paddings."""
        total = sum(lb.size + lb.padding for lb in labels)
        if total != len(raw):
            raise DecodeError(f"key is {len(raw)} bytes but the labels describe {total}")
        out = []
        off = 0
        for lb in labels:
            out.append(self.decode(raw[off:off + lb.size], lb))
            off += lb.size + lb.padding
        return tuple(out)

    # -- the decoders that need host state -------------------------------------------------

    def _ksym(self, raw: bytes, dec: Decoder) -> bytes:
        addr = int.from_bytes(raw[:8].ljust(8, b"\0"), "little")
        return (self.kallsyms.symbol(addr) or f"unknown_addr:{addr:#x}").encode()

    def _kstack(self, raw: bytes, dec: Decoder) -> bytes:
        frames = []
        for off in range(0, len(raw) - len(raw) % 8, 8):
            addr = int.from_bytes(raw[off:off + 8], "little")
            if addr == 0:
                break
            frames.append(self.kallsyms.symbol(addr) or "??")
        return "\n".join(frames).encode()

    def _syscall(self, raw: bytes, dec: Decoder) -> bytes:
        if self._syscalls is None:
            self._syscalls = syscall_table(self._unistd)
        nr = _number(raw, "syscall")
        return self._syscalls.get(nr, f"unknown_syscall:{nr}").encode()

    def _errno(self, raw: bytes, dec: Decoder) -> bytes:
        nr = _number(raw, "errno")
        return _errno.errorcode.get(nr, f"unknown:{nr}").encode()

    def _inet_ip(self, raw: bytes, dec: Decoder) -> bytes:
        if len(raw) not in (4, 16):
            raise DecodeError(f"inet_ip: {len(raw)} bytes is neither IPv4 (4) nor IPv6 (16)")
        ip = ipaddress.ip_address(raw)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped).encode()
        return str(ip).encode()

    def _ifname(self, raw: bytes, dec: Decoder) -> bytes:
        idx = _number(raw, "ifname")
        try:
            return socket.if_indextoname(idx).encode()
        except OSError:
            return f"unknown_ifindex:{idx}".encode()

    def _cgroup(self, raw: bytes, dec: Decoder) -> bytes:
        cid = _number(raw, "cgroup")
        return (self.cgroups.resolve(cid) or f"unknown_cgroup_id:{cid}").encode()

    def _majorminor(self, raw: bytes, dec: Decoder) -> bytes:
        if len(raw) < 4:
            raise DecodeError(f"majorminor: needs 4 bytes, got {len(raw)}")
        dev = int.from_bytes(raw[:4], "little")
        key = (os.major(dev), os.minor(dev))
        if key not in self._devices:
            name = ""
            try:
                for line in self._partitions.read_text().splitlines():
                    f = line.split()
                    if len(f) == 4 and f[0] == str(key[0]) and f[1] == str(key[1]):
                        name = f[3]
                        break
            except OSError as e:
                raise DecodeError(f"majorminor: {e}") from None
            if not name:
                return f"unknown:{key[0]}:{key[1]}".encode()
            self._devices[key] = name
        return self._devices[key].encode()

    def _static_map(self, raw: bytes, dec: Decoder) -> bytes:
        if dec.static_map is None:
            return b"empty mapping"
        text = raw.decode("utf-8", "replace")
        if text in dec.static_map:
            return dec.static_map[text].encode()
        return raw if dec.allow_unknown else f"unknown:{text}".encode()
