"""Introspection: what programs, maps, links and BTF objects the kernel holds,
their details, translated instructions and JITed machine code.

>>> from ebpf.kernel import info  # doctest: +SKIP
>>> [p.name for p in info.list_programs()][:3]  # doctest: +SKIP
['hid_tail_call', 'sd_devices', 'sd_fw_egress']
>>> print(info.dump_xlated(42))  # doctest: +SKIP
r0 = 0
exit
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as _errno
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from ..errors import NotSupportedError, SystemCallError
from ..uapi import Command, LinkType, MapType, ProgramType, structs
from . import commands
from . import sys as bsys

_T = TypeVar("_T")

log = logging.getLogger("ebpf.kernel")

__all__ = ["ProgramInfo", "MapInfo", "LinkInfo", "BTFInfo", "prog_info_from_fd",
           "map_info_from_fd", "link_info_from_fd", "list_programs", "list_maps",
           "list_links", "list_btf", "program_info", "map_info", "xlated_instructions",
           "dump_xlated", "dump_jited", "stats_enabled", "enable_stats", "fd_kind"]


def _enum_name(enum: Any, value: int) -> str:
    try:
        return enum(value).name.lower()
    except ValueError:
        return str(value)


@dataclass
class _Described:
    """What the kernel's description of an object gives as a plain dict."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProgramInfo(_Described):
    """A program as the kernel describes it (struct bpf_prog_info)."""

    id: int
    name: str
    type: int
    tag: str
    type_name: str = ""
    map_ids: list[int] = field(default_factory=list)
    xlated_size: int = 0
    jited_size: int = 0
    load_time_ns: int = 0  # since boot
    created_by_uid: int = 0
    btf_id: int = 0
    gpl_compatible: bool = False
    run_count: int = 0
    run_time_ns: int = 0
    recursion_misses: int = 0
    verified_insns: int = 0
    attach_btf_id: int = 0
    attach_btf_obj_id: int = 0
    ifindex: int = 0

    @property
    def loaded_at(self) -> float:
        """Load time as a UNIX timestamp."""
        boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return boot + self.load_time_ns / 1e9


@dataclass
class MapInfo(_Described):
    """A map as the kernel describes it (struct bpf_map_info)."""

    id: int
    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    type_name: str = ""
    btf_id: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    btf_vmlinux_value_type_id: int = 0
    map_extra: int = 0
    ifindex: int = 0
    frozen: bool = False


@dataclass
class LinkInfo(_Described):
    """A link (attachment) as the kernel describes it."""

    id: int
    type: int
    prog_id: int
    type_name: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class BTFInfo(_Described):
    """A BTF object loaded in the kernel."""

    id: int
    name: str
    size: int
    kernel_btf: bool


# ---- from an fd ------------------------------------------------------------------

def fd_kind(fd: int) -> str:
    """"map", "prog", "link", "btf" or "" for another kind of file."""
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""
    return {"anon_inode:bpf-map": "map", "anon_inode:bpf-prog": "prog",
            "anon_inode:bpf_link": "link", "anon_inode:btf": "btf"}.get(target, "")


def _fdinfo(fd: int) -> dict[str, str]:
    out = {}
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k.strip()] = v.strip()
    except OSError:
        pass
    return out


def map_info_from_fd(fd: int) -> MapInfo:
    """Kernel's description of the map behind ``fd``."""
    i = commands.get_info_by_fd(fd, structs.MapInfo(), what=f"getting info of map fd {fd}")
    return MapInfo(id=i.id, name=i.name.decode(errors="replace"), type=i.type,
                   key_size=i.key_size, value_size=i.value_size, max_entries=i.max_entries,
                   flags=i.map_flags, type_name=_enum_name(MapType, i.type), btf_id=i.btf_id,
                   btf_key_type_id=i.btf_key_type_id, btf_value_type_id=i.btf_value_type_id,
                   btf_vmlinux_value_type_id=i.btf_vmlinux_value_type_id,
                   map_extra=i.map_extra, ifindex=i.ifindex,
                   frozen=_fdinfo(fd).get("frozen") == "1")


def _prog_info_raw(fd: int, **bufs: Any) -> structs.ProgInfo:
    info = structs.ProgInfo(**bufs)
    commands.get_info_by_fd(fd, info, what=f"getting info of program fd {fd}")
    return info


def prog_info_from_fd(fd: int) -> ProgramInfo:
    """Kernel's description of the program behind ``fd`` (with its map ids)."""
    first = _prog_info_raw(fd)
    n = first.nr_map_ids
    ids = (ctypes.c_uint32 * max(n, 1))()
    i = _prog_info_raw(fd, nr_map_ids=n, map_ids=ctypes.addressof(ids)) if n else first
    return ProgramInfo(
        id=i.id, name=i.name.decode(errors="replace"), type=i.type,
        tag=bytes(i.tag).hex(), type_name=_enum_name(ProgramType, i.type),
        map_ids=list(ids[: min(n, i.nr_map_ids)]) if n else [],
        xlated_size=i.xlated_prog_len, jited_size=i.jited_prog_len, load_time_ns=i.load_time,
        created_by_uid=i.created_by_uid, btf_id=i.btf_id, gpl_compatible=bool(i.gpl_compatible),
        run_count=i.run_cnt, run_time_ns=i.run_time_ns, recursion_misses=i.recursion_misses,
        verified_insns=i.verified_insns, attach_btf_id=i.attach_btf_id,
        attach_btf_obj_id=i.attach_btf_obj_id, ifindex=i.ifindex)


def link_info_from_fd(fd: int) -> LinkInfo:
    """Kernel's description of the link behind ``fd``."""
    name = ctypes.create_string_buffer(256)
    raw = structs.LinkInfo()
    commands.get_info_by_fd(fd, raw, what=f"getting info of link fd {fd}")
    tname = _enum_name(LinkType, raw.type)
    detail: dict[str, Any] = {}
    u = raw  # the per-type union is anonymous: raw.xdp, raw.tracing, ...
    if tname in ("raw_tracepoint",):
        raw2 = structs.LinkInfo()
        raw2.raw_tracepoint.tp_name = ctypes.addressof(name)
        raw2.raw_tracepoint.tp_name_len = 256
        commands.get_info_by_fd(fd, raw2)
        detail["tp_name"] = name.value.decode(errors="replace")
    elif tname == "tracing":
        detail.update(attach_type=u.tracing.attach_type, target_obj_id=u.tracing.target_obj_id,
                      target_btf_id=u.tracing.target_btf_id)
    elif tname == "cgroup":
        detail.update(cgroup_id=u.cgroup.cgroup_id, attach_type=u.cgroup.attach_type)
    elif tname == "netns":
        detail.update(netns_ino=u.netns.netns_ino, attach_type=u.netns.attach_type)
    elif tname == "xdp":
        detail.update(ifindex=u.xdp.ifindex)
    elif tname in ("tcx", "netkit"):
        detail.update(ifindex=u.tcx.ifindex, attach_type=u.tcx.attach_type)
    elif tname == "netfilter":
        detail.update(pf=u.netfilter.pf, hooknum=u.netfilter.hooknum,
                      priority=u.netfilter.priority, flags=u.netfilter.flags)
    elif tname == "struct_ops":
        detail.update(map_id=u.struct_ops.map_id)
    return LinkInfo(id=raw.id, type=raw.type, prog_id=raw.prog_id, type_name=tname, detail=detail)


# ---- by id and listing ----------------------------------------------------------

def _open(cmd: int, obj_id: int) -> bsys.FD | None:
    """An fd for object ``obj_id``, or None when another process's object is not
    there to open: it went away between listing and opening (ENOENT), or it is
    still being created (EAGAIN: a link whose id is reserved but not settled)."""
    try:
        return commands.get_fd_by_id(cmd, obj_id)
    except SystemCallError as e:
        if e.errno in (_errno.ENOENT, _errno.EAGAIN):
            return None
        raise


def program_info(prog_id: int) -> ProgramInfo:
    """Info of program ``prog_id``."""
    with commands.get_fd_by_id(Command.PROG_GET_FD_BY_ID, prog_id, kind="program") as fd:
        return prog_info_from_fd(fd.fd)


def map_info(map_id: int) -> MapInfo:
    """Info of map ``map_id``."""
    with commands.get_fd_by_id(Command.MAP_GET_FD_BY_ID, map_id, kind="map") as fd:
        return map_info_from_fd(fd.fd)


def _each(next_id: int, fd_by_id: int, read: Callable[[int], _T]) -> Iterator[_T]:
    """``read(fd)`` of every object ``next_id`` lists (those gone by the time they
    are opened are passed over)."""
    for obj_id in commands.iter_ids(next_id):
        fd = _open(fd_by_id, obj_id)
        if fd is not None:
            with fd:
                yield read(fd.fd)


def list_programs() -> Iterator[ProgramInfo]:
    """Every program loaded in the kernel (needs CAP_SYS_ADMIN)."""
    return _each(Command.PROG_GET_NEXT_ID, Command.PROG_GET_FD_BY_ID, prog_info_from_fd)


def list_maps() -> Iterator[MapInfo]:
    """Every map in the kernel (needs CAP_SYS_ADMIN)."""
    return _each(Command.MAP_GET_NEXT_ID, Command.MAP_GET_FD_BY_ID, map_info_from_fd)


def list_links() -> Iterator[LinkInfo]:
    """Every link in the kernel."""
    return _each(Command.LINK_GET_NEXT_ID, Command.LINK_GET_FD_BY_ID, link_info_from_fd)


def list_btf() -> Iterator[BTFInfo]:
    """Every BTF object in the kernel (vmlinux, modules, programs')."""
    from .btf import _btf_info

    def read(fd: int) -> BTFInfo:
        i, _, name = _btf_info(fd, False)
        return BTFInfo(id=i.id, name=name, size=i.btf_size, kernel_btf=bool(i.kernel_btf))

    return _each(Command.BTF_GET_NEXT_ID, Command.BTF_GET_FD_BY_ID, read)


# ---- instructions and machine code ----------------------------------------------

def _prog_fd(prog: int | Any, by_fd: bool) -> tuple[bsys.FD | None, int]:
    if by_fd:
        return None, int(prog)
    if hasattr(prog, "fd"):
        return None, prog.fd
    fd = commands.get_fd_by_id(Command.PROG_GET_FD_BY_ID, int(prog), kind="program")
    return fd, fd.fd


def xlated_bytes(prog: int | Any, *, by_fd: bool = False) -> bytes:
    """The program's instructions as the verifier left them (raw bytes)."""
    owned, fd = _prog_fd(prog, by_fd)
    try:
        n = _prog_info_raw(fd).xlated_prog_len
        buf = ctypes.create_string_buffer(max(n, 1))
        i = _prog_info_raw(fd, xlated_prog_len=n, xlated_prog_insns=ctypes.addressof(buf))
        if n and not any(buf.raw[:n]) or (n and i.xlated_prog_len == 0):
            raise NotSupportedError("dumping translated instructions",
                                    detail="kernel hides them (kernel.kptr_restrict / lockdown?)")
        return buf.raw[: i.xlated_prog_len]
    finally:
        if owned is not None:
            owned.close()


def xlated_instructions(prog: int | Any, *, by_fd: bool = False) -> list:
    """Translated instructions decoded with :mod:`ebpf.isa`. Kernel-internal
    encodings the ISA does not define (e.g. the per-CPU address move the x86
    JIT inlines) are kept as raw :class:`~ebpf.isa.Instruction` objects."""
    return _decode_lenient(xlated_bytes(prog, by_fd=by_fd))


def _decode_lenient(raw: bytes) -> list:
    from .. import isa
    from ..errors import InstructionError
    from ..isa.instruction import Instruction

    try:
        return isa.decode(raw)
    except InstructionError:
        pass
    out = []
    pos = 0
    while pos + 8 <= len(raw):
        width = 16 if raw[pos] == 0x18 and pos + 16 <= len(raw) else 8
        try:
            out.extend(isa.decode(raw[pos:pos + width]))
        except InstructionError:
            opcode, regs = raw[pos], raw[pos + 1]
            off = int.from_bytes(raw[pos + 2:pos + 4], "little", signed=True)
            imm = int.from_bytes(raw[pos + 4:pos + 8], "little", signed=True)
            out.append(Instruction(opcode, regs & 0xF, regs >> 4, off, imm))
            width = 8
        pos += width
    return out


def _format(ins: Any) -> str:
    if ins.opcode == 0xBF and ins.off == -1:  # BPF_MOV64_PERCPU_REG (kernel-internal)
        return f"r{ins.dst} = &(void __percpu *)(r{ins.src})"
    try:
        from ..isa.disasm import format_instruction

        return format_instruction(ins)
    except Exception:  # noqa: BLE001 - kernel-internal encodings
        return (f"<kernel-internal opcode={ins.opcode:#04x} dst=r{ins.dst} src=r{ins.src} "
                f"off={ins.off} imm={ins.imm}>")


def dump_xlated(prog: int | Any, *, by_fd: bool = False) -> str:
    """Translated instructions as text, one per line, numbered by slot, annotated
    as bpftool does: helper names on calls, map ids and names on map loads, and
    the source line (``; ... @ file.c:N``) before the instructions it made."""
    from ..isa.instruction import slot_offsets
    from .xlated import annotate, read_annotations

    owned, fd = _prog_fd(prog, by_fd)
    try:
        insns = xlated_instructions(fd, by_fd=True)
        ann = read_annotations(fd)
    finally:
        if owned is not None:
            owned.close()
    lines: list[str] = []
    last = ""
    for s, ins in zip(slot_offsets(insns), insns, strict=True):
        if s in ann.lines and ann.lines[s] != last:
            last = ann.lines[s]
            lines.append(last)
        lines.append(f"{s:4d}: {annotate(s, ins, _format(ins), ann)}")
    return "\n".join(lines)


def jited_bytes(prog: int | Any, *, by_fd: bool = False) -> tuple[bytes, list[int], list[int]]:
    """(machine code, function start addresses, function lengths)."""
    owned, fd = _prog_fd(prog, by_fd)
    try:
        first = _prog_info_raw(fd)
        n = first.jited_prog_len
        if n == 0:
            raise NotSupportedError("dumping JITed code", detail="the program is not JITed "
                                    "(net.core.bpf_jit_enable=0?)")
        nk, nl = first.nr_jited_ksyms, first.nr_jited_func_lens
        code = ctypes.create_string_buffer(n)
        ksyms = (ctypes.c_uint64 * max(nk, 1))()
        lens = (ctypes.c_uint32 * max(nl, 1))()
        i = _prog_info_raw(fd, jited_prog_len=n, jited_prog_insns=ctypes.addressof(code),
                           nr_jited_ksyms=nk, jited_ksyms=ctypes.addressof(ksyms) if nk else 0,
                           nr_jited_func_lens=nl,
                           jited_func_lens=ctypes.addressof(lens) if nl else 0)
        return code.raw[: i.jited_prog_len], list(ksyms[:nk]), list(lens[:nl])
    finally:
        if owned is not None:
            owned.close()


def dump_jited(prog: int | Any, *, by_fd: bool = False, arch: str | None = None) -> str:
    """JITed machine code disassembled with capstone (x86-64 or arm64).

    Raises :class:`NotSupportedError` without capstone (``pip install ebpf[jit]``).
    """
    try:
        import capstone
    except ImportError:
        raise NotSupportedError("disassembling JITed code",
                                detail="needs capstone (pip install 'ebpf[jit]')") from None
    arch = arch or platform.machine()
    if arch in ("x86_64", "amd64"):
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    elif arch in ("aarch64", "arm64"):
        md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    else:
        raise NotSupportedError("disassembling JITed code", detail=f"on {arch}")
    code, ksyms, lens = jited_bytes(prog, by_fd=by_fd)
    funcs = list(zip(ksyms, lens, strict=False)) if ksyms and len(ksyms) == len(lens) \
        else [(0, len(code))]
    out: list[str] = []
    pos = 0
    for fi, (_addr, ln) in enumerate(funcs):
        if len(funcs) > 1:
            out.append(f"func #{fi}:")
        chunk = code[pos:pos + ln]
        for ins in md.disasm(chunk, 0):
            out.append(f"{ins.address:6x}: {ins.bytes.hex(' '):<30} {ins.mnemonic} {ins.op_str}".rstrip())
        pos += ln
    return "\n".join(out)


# ---- run-time statistics ----------------------------------------------------------

def stats_enabled() -> bool:
    """Whether kernel.bpf_stats_enabled is on (run counts/times are collected)."""
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


@contextlib.contextmanager
def enable_stats():
    """Collect run counts and run times while inside the ``with`` (BPF_ENABLE_STATS).

    >>> with enable_stats():  # doctest: +SKIP
    ...     prog.test_run(b"x" * 64, repeat=100)
    """
    fd = commands.enable_stats()
    try:
        yield fd
    finally:
        fd.close()
