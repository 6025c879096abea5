"""BTF and the kernel: load an object's BTF (BPF_BTF_LOAD), read BTF back by id,
and find kernel types and functions (vmlinux or a module) for attach targets,
ksyms and kfuncs.

>>> from ebpf.kernel.btf import find_kernel_type  # doctest: +SKIP
>>> find_kernel_type("bpf_lsm_file_open", "func").type_id > 0  # doctest: +SKIP
True
"""

from __future__ import annotations

import ctypes
import errno as _errno
import functools
import logging
from dataclasses import dataclass
from typing import Any

from .._internal.closeable import Closeable
from ..errors import BTFError, LoadError, PrivilegeError
from ..uapi import Command, structs
from . import commands
from . import sys as bsys

log = logging.getLogger("ebpf.kernel")

__all__ = ["KernelBTF", "load_btf", "btf_spec_by_id", "KernelType", "find_kernel_type",
           "module_btf_fd"]


class KernelBTF(Closeable):
    """A BTF blob loaded into the kernel (``fd``; ``close()`` releases it)."""

    def __init__(self, fd: bsys.FD, spec: Any = None, blob: bytes | None = None):
        self._fd = fd
        self.spec = spec
        #: the exact bytes loaded (string offsets for line info refer to them)
        self.blob = blob

    @property
    def fd(self) -> int:
        return self._fd.fd

    @property
    def id(self) -> int:
        info = commands.get_info_by_fd(self.fd, structs.BtfInfo())
        return info.id

    def close(self) -> None:
        self._fd.close()


_BTF_FEATURE_KERNEL = {
    "func": (5, 0, 0), "datasec": (5, 2, 0), "func_global": (5, 6, 0), "float": (5, 13, 0),
    "decl_tag": (5, 16, 0), "type_tag": (5, 17, 0), "enum64": (6, 0, 0),
}


def btf_features() -> dict[str, bool]:
    """Which BTF kinds the running kernel accepts (by the version that added them)."""
    from .probes import kernel_version

    v = kernel_version()
    return {name: v >= need for name, need in _BTF_FEATURE_KERNEL.items()}


def _btf_load(data: bytes, log_size: int = 0) -> tuple[bsys.FD | None, int, str]:
    """(fd or None, errno, log)."""
    blob = ctypes.create_string_buffer(data, len(data))
    buf = ctypes.create_string_buffer(log_size) if log_size else None
    attr = structs.BtfLoadAttr(btf=ctypes.addressof(blob), btf_size=len(data))
    if buf is not None:
        attr.btf_log_buf = ctypes.addressof(buf)
        attr.btf_log_size = log_size
        attr.btf_log_level = 1
    try:
        return commands.btf_load(attr, raw=True), 0, ""
    except OSError as e:
        return None, e.errno or _errno.EINVAL, buf.value.decode(errors="replace") if buf else ""


def load_btf(source: Any, *, kconfig_layout: dict[str, tuple[int, int]] | None = None,
             sanitize: bool = True) -> KernelBTF:
    """Load BTF into the kernel: an :class:`ebpf.btf.Spec` (``to_bytes()``) or raw bytes,
    made acceptable first with :func:`sanitize_for_kernel` (unless ``sanitize=False``).

    Failure raises :class:`LoadError` carrying the kernel's BTF log.
    """
    data = source if isinstance(source, (bytes, bytearray)) else source.to_bytes()
    if sanitize:
        data = sanitize_for_kernel(bytes(data), kconfig_layout)
        missing = {k: False for k, ok in btf_features().items() if not ok}
        if missing:  # an older kernel: degrade the kinds it lacks, keeping type ids
            from .. import btf as B
            from ..btf.compat import sanitize as degrade

            log.debug("BTF: degrading kinds this kernel lacks: %s", ", ".join(missing))
            data = degrade(B.Spec.from_bytes(bytes(data)), **missing).to_bytes()
    fd, err, _ = _btf_load(bytes(data))
    spec = None if isinstance(source, (bytes, bytearray)) else source
    if fd is not None:
        return KernelBTF(fd, spec, bytes(data))
    if err in (_errno.EPERM, _errno.EACCES):
        raise PrivilegeError("loading BTF", err, capability="CAP_BPF")
    size = 1 << 16
    text = ""
    while size <= (1 << 26):
        fd, err2, text = _btf_load(bytes(data), size)
        if fd is not None:  # succeeded with a log?  take it
            return KernelBTF(fd, spec, bytes(data))
        if err2 != _errno.ENOSPC:
            break
        size <<= 2
    lines = [ln for ln in text.splitlines() if ln.strip()]
    detail = "\n".join(lines[-4:])
    raise LoadError(f"loading BTF ({len(data)} bytes) into the kernel"
                    + (f": {detail}" if detail else ""), err)


def _btf_info(fd: int, with_data: bool) -> tuple[structs.BtfInfo, bytes, str]:
    name = ctypes.create_string_buffer(64)
    info = structs.BtfInfo(name=ctypes.addressof(name), name_len=64)
    commands.get_info_by_fd(fd, info)
    data = b""
    if with_data:
        size = info.btf_size
        blob = ctypes.create_string_buffer(size)
        info2 = structs.BtfInfo(btf=ctypes.addressof(blob), btf_size=size,
                             name=ctypes.addressof(name), name_len=64)
        commands.get_info_by_fd(fd, info2)
        data = blob.raw[:size]
    return info, data, name.value.decode(errors="replace")


def btf_spec_by_id(btf_id: int) -> Any:
    """Parse the BTF object ``btf_id`` from the kernel (split BTF of modules on
    top of vmlinux)."""
    from .. import btf as B

    with commands.get_fd_by_id(Command.BTF_GET_FD_BY_ID, btf_id, error=BTFError) as fd:
        info, data, name = _btf_info(fd.fd, True)
    if info.kernel_btf and name == "vmlinux":
        return B.load_kernel_btf()
    base = B.load_kernel_btf() if info.kernel_btf else None
    return B.Spec.from_bytes(data, base=base, check=False)  # loaded: the kernel checked it


@functools.cache
def _module_btf_ids() -> dict[str, int]:
    """Kernel module name → BTF object id, for modules that have BTF."""
    out: dict[str, int] = {}
    for bid in commands.iter_ids(Command.BTF_GET_NEXT_ID):
        try:
            with commands.get_fd_by_id(Command.BTF_GET_FD_BY_ID, bid) as fd:
                info, _, name = _btf_info(fd.fd, False)
        except OSError:
            continue
        if info.kernel_btf and name:
            out[name] = bid
    return out


def module_btf_fd(module: str) -> bsys.FD:
    """An fd of module ``module``'s BTF object (for attach_btf_obj_fd / fd_array)."""
    ids = _module_btf_ids()
    if module not in ids:
        _module_btf_ids.cache_clear()
        ids = _module_btf_ids()
    if module not in ids:
        raise BTFError(f"kernel module {module!r} has no BTF loaded")
    return commands.get_fd_by_id(Command.BTF_GET_FD_BY_ID, ids[module], error=BTFError)


@dataclass
class KernelType:
    """Where a kernel type lives: its id inside ``module``'s BTF ("vmlinux" for the
    kernel proper) and the type itself."""

    type_id: int
    module: str
    type: Any

    @property
    def in_module(self) -> bool:
        return self.module != "vmlinux"


def find_kernel_type(name: str, kind: str | None = None, *, modules: bool = True) -> KernelType:
    """Find ``name`` (of ``kind``: "func", "typedef", "struct", "var", ...) in vmlinux
    BTF, then in module BTF. Raises :class:`BTFError` when absent."""
    from .. import btf as B

    vmlinux = B.load_kernel_btf()
    found = _find_in(vmlinux, name, kind)
    if found is not None:
        return KernelType(vmlinux.type_id(found), "vmlinux", found)
    if modules:
        for mod in B.kernel_module_names():
            try:
                spec = B.load_module_btf(mod)
            except BTFError:
                continue
            found = _find_in(spec, name, kind, own_only=True)
            if found is not None:
                return KernelType(spec.type_id(found), mod, found)
    raise BTFError(f"no {kind + ' ' if kind else ''}{name!r} in the kernel's BTF")


def _find_in(spec: Any, name: str, kind: str | None, own_only: bool = False) -> Any:
    try:
        cands = spec.types_by_name(name, kind)
    except BTFError:
        return None
    if own_only:
        own = spec.own_ids()
        cands = [t for t in cands if spec.type_id(t) in own]
    return cands[0] if cands else None


# ---- making an object's BTF acceptable to the kernel --------------------------------

_KIND_EXTRA = {1: 4, 3: 12, 14: 4, 17: 4}  # fixed extra bytes after the 12-byte header
_KIND_PER_VLEN = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}


def sanitize_for_kernel(blob: bytes, kconfig_layout: dict[str, tuple[int, int]] | None = None) -> bytes:
    """Rewrite raw object BTF the way libbpf does before BPF_BTF_LOAD: extern
    variables (``__kconfig``/``__ksym``) become global ones, kfunc entries leave
    the ``.ksyms`` section, and extern sections get their real layout
    (``kconfig_layout``: variable name → (offset, size) in the ``.kconfig`` map).
    Type ids do not change."""
    import struct as st

    if len(blob) < 24:
        raise BTFError("BTF blob too short")
    magic, ver, flags, hdr_len, toff, tlen, soff, slen = st.unpack_from("<HBBIIIII", blob)
    if magic != 0xEB9F:
        raise BTFError(f"bad BTF magic {magic:#x}")
    types = blob[hdr_len + toff:hdr_len + toff + tlen]
    strs = blob[hdr_len + soff:hdr_len + soff + slen]

    def string(off: int) -> str:
        end = strs.find(b"\0", off)
        return strs[off:end if end >= 0 else len(strs)].decode(errors="replace")

    # first pass: kinds of all type ids
    recs: list[tuple[int, int, int]] = []  # (start, end, kind)
    pos = 0
    while pos < len(types):
        _name_off, info, _size = st.unpack_from("<III", types, pos)
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        end = pos + 12 + _KIND_EXTRA.get(kind, 0) + _KIND_PER_VLEN.get(kind, 0) * vlen
        recs.append((pos, end, kind))
        pos = end
    kind_of = {i + 1: k for i, (_, _, k) in enumerate(recs)}
    # prototypes of extern functions (kfunc declarations) come with unnamed
    # parameters, which the kernel refuses for a FUNC: name them "arg"
    # (GCC also emits FUNC records, with unnamed parameters, for the helpers it
    # declares through its kernel_helper attribute: name those too)
    extern_protos = set()
    for start, _end, kind in recs:
        _n, info, ref = st.unpack_from("<III", types, start)
        if kind == 12:
            extern_protos.add(ref)
    arg_name = len(strs)
    if extern_protos:
        strs = strs + b"arg\0"
        slen = len(strs)
    # untyped ksyms (`extern const void sym __ksym;`): a VAR of (const) void, which
    # the kernel refuses; like libbpf, give them an int type (appended: ids stay)
    void_vars = {i + 1 for i, (start, _e, kind) in enumerate(recs)
                 if kind == 14 and _resolve_modifiers(types, recs, i + 1) == 0}
    int_tid = len(recs) + 1
    extra_types = b""
    if void_vars:
        extra_types = st.pack("<IIII", len(strs), 1 << 24, 4, (1 << 24) | 32)  # signed int
        strs = strs + b"int\0"
        slen = len(strs)
    out = bytearray()
    for tid0, (start, end, kind) in enumerate(recs):
        rec = bytearray(types[start:end])
        name_off, info, size = st.unpack_from("<III", rec, 0)
        if kind == 1:  # INT: GCC 12 marks signed char SIGNED|CHAR, which the kernel refuses
            enc = st.unpack_from("<I", rec, 12)[0]
            if (enc >> 24) & 0xF == 3:
                st.pack_into("<I", rec, 12, (enc & ~(0xF << 24)) | (1 << 24))
        elif kind == 13 and tid0 + 1 in extern_protos:
            for i in range(info & 0xFFFF):
                name, ptype = st.unpack_from("<II", rec, 12 + 8 * i)
                if name == 0 and ptype != 0:
                    st.pack_into("<I", rec, 12 + 8 * i, arg_name)
        elif kind == 12:
            if (info & 0xFFFF) == 2:  # FUNC with extern linkage (kfunc decl)
                info = info & ~0xFFFF  # static: the kernel refuses extern (and unnamed global args)
                st.pack_into("<I", rec, 4, info)
            if not string(name_off):  # GCC: anonymous FUNCs for helper pointers; a FUNC needs a name
                st.pack_into("<I", rec, 0, len(strs))
                strs += f"__anon_func_{tid0 + 1}".encode() + b"\0"
                slen = len(strs)
        elif kind == 14:  # VAR
            linkage = st.unpack_from("<I", rec, 12)[0]
            if linkage == 2:  # extern
                st.pack_into("<I", rec, 12, 1)
            if tid0 + 1 in void_vars:
                st.pack_into("<I", rec, 8, int_tid)
        elif kind == 15:  # DATASEC
            vlen = info & 0xFFFF
            entries = [st.unpack_from("<III", rec, 12 + 12 * i) for i in range(vlen)]
            secname = string(name_off)
            kept = [e for e in entries if kind_of.get(e[0]) == 14]
            if secname == ".kconfig" and kconfig_layout:
                fixed = []
                for tid, off, sz in kept:
                    vname = _var_name(types, recs, tid, string)
                    off, sz = kconfig_layout.get(vname, (off, sz))
                    fixed.append((tid, off, sz))
                kept = sorted(fixed, key=lambda e: e[1])
                size = max([o + s for _, o, s in kept] or [0])
            kept.sort(key=lambda e: e[1])  # GCC lists variables in no particular order
            relay = any(t in void_vars and z < 4 for t, _o, z in kept)
            kept = [(t, o, max(z, 4) if t in void_vars else z) for t, o, z in kept]
            if kept and (relay or size == 0 or any(o + z > size for _, o, z in kept)):
                # a section the ELF file did not size (license, .ksyms, ...): lay out in order
                laid, cur = [], 0
                for tid, _o, z in kept:
                    laid.append((tid, cur, max(z, 1)))
                    cur += max(z, 1)
                kept, size = laid, cur
            if not kept:  # nothing left (e.g. only kfuncs): a harmless "const void"
                out += st.pack("<III", 0, 10 << 24, 0)
                continue
            info = (info & ~0xFFFF) | len(kept)
            rec = bytearray(st.pack("<III", name_off, info, size))
            for e in kept:
                rec += st.pack("<III", *e)
        out += rec
    new_types = bytes(out) + extra_types
    header = st.pack("<HBBIIIII", magic, ver, flags, 24, 0, len(new_types), len(new_types), slen)
    return header + new_types + strs


def _resolve_modifiers(types: bytes, recs: list[tuple[int, int, int]], tid: int) -> int:
    """The type id behind typedef/volatile/const/restrict/type_tag chains starting
    at the type a VAR (or modifier) ``tid`` refers to; 0 is void."""
    import struct as st

    cur = st.unpack_from("<I", types, recs[tid - 1][0] + 8)[0]
    for _ in range(64):
        if not 1 <= cur <= len(recs) or recs[cur - 1][2] not in (8, 9, 10, 11, 18):
            return cur
        cur = st.unpack_from("<I", types, recs[cur - 1][0] + 8)[0]
    return cur


def _var_name(types: bytes, recs: list[tuple[int, int, int]], tid: int, string) -> str:
    import struct as st

    if not 1 <= tid <= len(recs):
        return ""
    start = recs[tid - 1][0]
    return string(st.unpack_from("<I", types, start)[0])
