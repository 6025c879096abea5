"""``.BTF.ext``: per-section function info, line info and CO-RE relocations.

Offsets are kept as the file has them: ``insn_off`` in BYTES from the start of
the ELF section (the ELF reader converts them to slots within a program).

>>> from ebpf.btf.ext import CoreKind
>>> CoreKind.FIELD_BYTE_OFFSET, CoreKind(9).name
(<CoreKind.FIELD_BYTE_OFFSET: 0>, 'TYPE_SIZE')
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import BTFError
from .parse import Spec
from .records import FuncInfo, LineInfo

__all__ = ["BTFExt", "CORERelocation", "CoreKind", "FuncInfo", "LineInfo", "parse_btf_ext"]


class CoreKind(enum.IntEnum):
    """enum bpf_core_relo_kind."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def is_field(self) -> bool:
        return self <= CoreKind.FIELD_RSHIFT_U64

    @property
    def is_type(self) -> bool:
        return CoreKind.TYPE_ID_LOCAL <= self <= CoreKind.TYPE_SIZE or self == CoreKind.TYPE_MATCHES

    @property
    def is_enumval(self) -> bool:
        return self in (CoreKind.ENUMVAL_EXISTS, CoreKind.ENUMVAL_VALUE)


@dataclass(frozen=True)
class CORERelocation:
    """One CO-RE relocation record (struct bpf_core_relo).

    ``type_id`` is in the object's (local) BTF; ``access_str`` is the accessor
    path such as ``"0:1:2"``; ``insn_off`` is in bytes from the section start.
    """

    insn_off: int
    type_id: int
    access_str: str
    kind: CoreKind
    #: ELF section the instruction is in
    section: str = field(default="", compare=False)


@dataclass
class BTFExt:
    """Parsed ``.BTF.ext``, each table keyed by ELF section name."""

    func_infos: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_infos: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relos: dict[str, list[CORERelocation]] = field(default_factory=dict)
    func_info_rec_size: int = 8
    line_info_rec_size: int = 16
    core_relo_rec_size: int = 16


_HDR = struct.Struct("<HBBIIIII")
_R = TypeVar("_R")


def parse_btf_ext(data: bytes, spec: Spec) -> BTFExt:
    """Parse a ``.BTF.ext`` section; ``spec`` is the object's BTF (its string
    table holds the section names, file names and source lines).

    FuncInfo entries come with the function's name filled in (from ``spec``).
    """
    if len(data) < _HDR.size:
        raise BTFError(f".BTF.ext too short for its header ({len(data)} bytes)")
    magic = int.from_bytes(data[:2], "little")
    if magic == 0xEB9F:
        e = "<"
    elif magic == 0x9FEB:
        e = ">"
    else:
        raise BTFError(f".BTF.ext: bad magic {data[:2].hex()}")
    _, version, _flags, hdr_len, fi_off, fi_len, li_off, li_len = struct.unpack_from(
        e + "HBBIIIII", data)
    if version != 1:
        raise BTFError(f".BTF.ext: unsupported version {version}")
    if hdr_len < _HDR.size or hdr_len > len(data):
        raise BTFError(f".BTF.ext: bad header length {hdr_len}")
    cr_off = cr_len = 0
    if hdr_len >= 32:
        cr_off, cr_len = struct.unpack_from(e + "II", data, 24)
    out = BTFExt()
    body = data[hdr_len:]

    def records(off: int, length: int, what: str, min_rec: int,
                decode: Callable[[str, bytes], _R]) -> tuple[int, dict[str, list[_R]]]:
        """(record size, section name -> its records decoded) of one record table."""
        found: dict[str, list[_R]] = {}
        if not length:
            return min_rec, found
        if off + length > len(body):
            raise BTFError(f".BTF.ext: {what} ({off}+{length}) runs past the section end")
        sub = body[off:off + length]
        if len(sub) < 4:
            raise BTFError(f".BTF.ext: {what} too short")
        (rec,) = struct.unpack_from(e + "I", sub)
        if rec < min_rec or rec % 4:
            raise BTFError(f".BTF.ext: {what} record size {rec} (need >= {min_rec})")
        pos = 4
        while pos < len(sub):
            if pos + 8 > len(sub):
                raise BTFError(f".BTF.ext: {what}: truncated section header")
            name_off, n = struct.unpack_from(e + "II", sub, pos)
            pos += 8
            if pos + n * rec > len(sub):
                raise BTFError(f".BTF.ext: {what}: {n} records run past the end")
            try:
                sec = spec.string(name_off)
            except BTFError as ex:
                raise BTFError(f".BTF.ext: {what}: {ex}") from None
            found.setdefault(sec, []).extend(decode(sec, sub[pos + i * rec:pos + (i + 1) * rec])
                                             for i in range(n))
            pos += n * rec
        return rec, found

    def func_info(sec: str, r: bytes) -> FuncInfo:
        insn_off, tid = struct.unpack_from(e + "II", r)
        try:
            return FuncInfo(insn_off, tid, getattr(spec[tid], "name", ""))
        except BTFError:
            raise BTFError(f".BTF.ext: func info in {sec}: no BTF type {tid}") from None

    def line_info(sec: str, r: bytes) -> LineInfo:
        insn_off, file_off, line_off, line_col = struct.unpack_from(e + "IIII", r)
        try:
            return LineInfo(insn_off, spec.string(file_off), spec.string(line_off),
                            line_col >> 10, line_col & 0x3FF)
        except BTFError as ex:
            raise BTFError(f".BTF.ext: line info in {sec}: {ex}") from None

    def core_relo(sec: str, r: bytes) -> CORERelocation:
        insn_off, tid, acc_off, kind = struct.unpack_from(e + "IIII", r)
        try:
            k = CoreKind(kind)
        except ValueError:
            raise BTFError(f".BTF.ext: CO-RE relocation in {sec} at byte {insn_off}: "
                           f"unknown kind {kind}") from None
        try:
            access = spec.string(acc_off)
        except BTFError as ex:
            raise BTFError(f".BTF.ext: CO-RE relocation in {sec}: {ex}") from None
        return CORERelocation(insn_off, tid, access, k, sec)

    out.func_info_rec_size, out.func_infos = records(fi_off, fi_len, "func info", 8, func_info)
    out.line_info_rec_size, out.line_infos = records(li_off, li_len, "line info", 16, line_info)
    out.core_relo_rec_size, out.core_relos = records(cr_off, cr_len, "CO-RE relocations", 16,
                                                     core_relo)
    return out


def marshal_func_infos(infos: list[FuncInfo], byteorder: str = "little") -> bytes:
    """bpf_func_info records for BPF_PROG_LOAD (``insn_off`` as given: slots)."""
    e = "<" if byteorder == "little" else ">"
    return b"".join(struct.pack(e + "II", f.insn_off, f.type_id) for f in infos)


def marshal_line_infos(infos: list[LineInfo], spec: Spec, byteorder: str = "little") -> bytes:
    """bpf_line_info records for BPF_PROG_LOAD (``insn_off`` as given: slots);
    file names and source lines are looked up in (or added to) the string table
    of ``spec.to_bytes()``."""
    e = "<" if byteorder == "little" else ">"
    out = []
    for li in infos:
        if li.line >= 1 << 22 or li.column >= 1 << 10:
            raise BTFError(f"line info {li.file_name}:{li.line}:{li.column} out of range")
        out.append(struct.pack(e + "IIII", li.insn_off, spec.string_offset(li.file_name),
                               spec.string_offset(li.line_text), li.line << 10 | li.column))
    return b"".join(out)
