"""ELF object → :class:`ebpf.ObjectSpec`: programs (linked with their
subprograms), maps, global variables, BTF, relocations kept symbolic.

>>> import ebpf
>>> spec = ebpf.ObjectSpec.from_file("prog.bpf.o")   # doctest: +SKIP
>>> spec.programs["handle_tp"].attach_to             # doctest: +SKIP
'syscalls/sys_enter_write'
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

from ..errors import BTFError, ELFError, Error
from ..spec import ObjectSpec
from ..uapi import MapType
from . import maps as M
from .code import Func
from .datasec import read_arena_globals, read_data_maps
from .externs import build_kconfig_map, classify_externs
from .file import (
    STB_LOCAL,
    STT_FUNC,
    STV_HIDDEN,
    STV_INTERNAL,
    Relocation,
)
from .link import Linker
from .relocate import Relocator, gas_addends
from .struct_ops import is_struct_ops_section, read_struct_ops

log = logging.getLogger(__name__)

#: Refuse files larger than this (a vmlinux-sized Cilium object is ~10 MB).
MAX_OBJECT_SIZE = 1 << 30


def read_file(path: str | os.PathLike[str]) -> ObjectSpec:
    """Read an eBPF ELF object from ``path``.

    Raises :class:`ebpf.ELFError` for anything that is not a usable eBPF object.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_OBJECT_SIZE:
            raise ELFError(f"{p}: {size} bytes is too big for an eBPF object")
        data = p.read_bytes()
    except OSError as e:
        raise ELFError(f"cannot read {p}: {e.strerror or e}") from None
    spec = read_bytes(data, name=str(p))
    spec.path = str(p)
    return spec


def read_bytes(data: bytes, name: str = "<bytes>") -> ObjectSpec:
    """Read an eBPF ELF object held in memory (``name`` is used in messages)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ELFError(f"{name}: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_OBJECT_SIZE:
        raise ELFError(f"{name}: {len(data)} bytes is too big for an eBPF object")
    try:
        return _Reader(bytes(data), name).read()
    except ELFError:
        raise
    except Error as e:
        raise ELFError(f"{name}: {e}") from e
    except RecursionError:
        raise ELFError(f"{name}: malformed object (type or reference chain too deep)") from None
    except Exception as e:  # noqa: BLE001 - the parser's boundary: no raw tracebacks
        # a malformed object reached a place we did not validate explicitly
        log.debug("unexpected error reading %s", name, exc_info=True)
        raise ELFError(f"{name}: malformed object ({type(e).__name__}: {e})") from None


class _Reader(Relocator, Linker):
    # ------------------------------------------------------------------
    def read(self) -> ObjectSpec:
        elf = self.elf
        obj = ObjectSpec(path=self.name)
        obj.license = self._license()
        obj.kernel_version = self._version()
        self._read_btf()
        self._hidden_functions_static()
        obj.btf = self.btf

        # relocation sections by target section index
        rels: dict[int, list[Relocation]] = {}
        for rel_sec, target in elf.relocation_sections():
            rels.setdefault(target.index, []).extend(elf.relocations(rel_sec))

        self._gas_addends = gas_addends(elf, rels)
        if self._gas_addends:
            log.debug("%s: lddw relocations carry symbol value + addend (GNU as)", self.name)

        # maps
        result = M.MapsResult()
        for sec in elf.sections:
            if sec.name == ".maps" or (sec.name.startswith(".maps.") and not sec.is_code):
                M.read_btf_maps(elf, sec, self.btf, result, rels.get(sec.index))
        for sec in elf.sections:
            if (sec.name == "maps" or sec.name.startswith("maps/")) and not sec.is_code:
                M.read_legacy_maps(elf, sec, self.btf, result)
        for sec in elf.sections:
            if is_struct_ops_section(sec):
                read_struct_ops(elf, sec, self.btf, result, rels.get(sec.index))
        read_data_maps(elf, self.btf, result)
        read_arena_globals(elf, self.btf, result)
        externs = classify_externs(elf, self.btf)
        build_kconfig_map(elf, self.btf, externs, result)
        obj.maps = result.maps
        obj.variables = result.variables
        obj.kconfig = sorted(e.name for e in externs.values() if e.kind == "kconfig")
        obj.ksyms = sorted(e.name for e in externs.values() if e.kind != "kconfig")

        # code
        code = [self._code_section(sec, rels.get(sec.index, []), result, externs)
                for sec in elf.sections if sec.is_code and sec.size]
        self._code = {cs.section.index: cs for cs in code}
        funcs: dict[tuple[int, int], Func] = {}
        for cs in code:
            self._split(cs)
            for f in cs.funcs:
                funcs[f.key] = f
        for cs in code:
            self._attach_ext(cs)
        for cs in code:
            for f in cs.funcs:
                self._resolve_calls(cs, f, funcs)
        for cs in code:
            for f in cs.funcs:
                if not f.is_program:
                    continue
                if f.name in obj.programs:
                    raise self.err(f"program {f.name!r} defined twice")
                obj.programs[f.name] = self._program(f, funcs, obj)

        # program arrays initialised in the object
        for mapname, index, sym in result.prog_values:
            prog = self._program_for_symbol(sym, funcs, obj)
            obj.maps[mapname].contents.append((index, prog))
        for mapname, member, sym in result.struct_ops_values:
            prog = self._program_for_symbol(sym, funcs, obj)
            obj.maps[mapname].contents.append((member, prog))
        for ms in obj.maps.values():
            if ms.type != MapType.STRUCT_OPS:
                ms.contents.sort(key=lambda kv: kv[0])
        return obj

    # ------------------------------------------------------------------
    def _license(self) -> str:
        sec = self.elf.section_by_name("license")
        if sec is None:
            return ""
        raw = sec.data.split(b"\0", 1)[0]
        return raw.decode("utf-8", "replace")

    def _version(self) -> int:
        sec = self.elf.section_by_name("version")
        if sec is None:
            return 0
        if len(sec.data) != 4:
            raise self.err(f"section 'version' has {len(sec.data)} bytes (expected 4)")
        return struct.unpack("<I", sec.data)[0]

    def _read_btf(self) -> None:
        sec = self.elf.section_by_name(".BTF")
        if sec is None or not sec.data:
            return
        from .. import btf as B

        try:
            self.btf = B.Spec.from_bytes(sec.data)
        except BTFError as e:
            raise self.err(f".BTF: {e}") from None
        ext = self.elf.section_by_name(".BTF.ext")
        if ext is not None and ext.data:
            try:
                from ..btf.ext import parse_btf_ext
            except ImportError:  # pragma: no cover - BTF.ext support not installed
                log.warning("%s: .BTF.ext ignored (ebpf.btf.ext unavailable)", self.name)
                return
            try:
                self.ext = parse_btf_ext(ext.data, self.btf)
            except BTFError as e:
                raise self.err(f".BTF.ext: {e}") from None

    def _hidden_functions_static(self) -> None:
        """Global functions with hidden (or internal) visibility, as
        ``__weak __hidden`` in libbpf's usdt.bpf.h, cannot be called from outside
        the object: as libbpf does, give their BTF FUNC static linkage, so the
        verifier checks them as static subprograms (with their callers' argument
        types) instead of as global functions (verified alone)."""
        if self.btf is None:
            return
        from .. import btf as B

        hidden = {s.name for s in self.elf.symbols
                  if s.type == STT_FUNC and s.bind != STB_LOCAL
                  and s.visibility in (STV_HIDDEN, STV_INTERNAL)}
        if not hidden:
            return
        for t in self.btf:
            if isinstance(t, B.Func) and t.name in hidden and t.linkage == B.Linkage.GLOBAL:
                t.linkage = B.Linkage.STATIC
                log.debug("%s: hidden function %s: BTF linkage made static", self.name, t.name)


__all__ = ["MAX_OBJECT_SIZE", "read_bytes", "read_file"]
