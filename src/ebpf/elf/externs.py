"""Externs: undefined symbols an object uses, classified as ``.kconfig`` values,
kernel symbols (``__ksym`` variables) or kfuncs, and the ``.kconfig`` map laid out
for the kconfig ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ELFError
from ..spec import (
    BPF_F_MMAPABLE,
    BPF_F_RDONLY_PROG,
    MapSpec,
    VariableSpec,
)
from ..uapi import MapType
from .datasec import MAX_DATA_SIZE
from .file import (
    STB_WEAK,
    STT_FUNC,
    ELFFile,
)
from .maps import MapsResult, btf_model, btf_type_id, find_datasec


@dataclass
class Extern:
    """An undefined symbol the object uses: a .kconfig value or a kernel symbol."""

    name: str
    kind: str  # "kconfig", "ksym" (variable) or "kfunc"
    weak: bool
    type: Any = None


def classify_externs(elf: ELFFile, spec: Any) -> dict[str, Extern]:
    """Every extern (undefined, named symbol), classified through the BTF DATASECs
    ``.kconfig`` and ``.ksyms`` (by name when the object has no BTF)."""
    where: dict[str, tuple[str, Any]] = {}
    B = btf_model() if spec is not None else None  # parsed BTF means ebpf.btf is loaded
    if B is not None:
        for secname, kind in ((".kconfig", "kconfig"), (".ksyms", "ksym")):
            ds = find_datasec(spec, secname)
            if ds is None:
                continue
            for vsi in ds.vars:
                t = vsi.type
                if isinstance(t, B.Func):
                    where[t.name] = ("kfunc", t)
                elif isinstance(t, B.Var):
                    where[t.name] = (kind, t)
        # extern functions may also appear only as FUNC with extern linkage
    out: dict[str, Extern] = {}
    for sym in elf.symbols:
        if sym.shndx != 0 or not sym.name or sym.index == 0:
            continue
        kind, t = where.get(sym.name, ("", None))
        if not kind:
            if B is not None:
                funcs = [f for f in spec.types_by_name(sym.name) if isinstance(f, B.Func)]
                if funcs:
                    kind, t = "kfunc", funcs[0]
            if not kind:
                if sym.name.startswith(("CONFIG_", "LINUX_")):
                    kind = "kconfig"
                elif sym.type == STT_FUNC:
                    kind = "kfunc"
                else:
                    kind = "ksym"
        out[sym.name] = Extern(sym.name, kind, sym.bind == STB_WEAK, t)
    return out


def build_kconfig_map(elf: ELFFile, spec: Any, externs: dict[str, Extern],
                      result: MapsResult) -> None:
    """The ``.kconfig`` map: every kconfig extern laid out by alignment, as a
    read-only, frozen one-element array (the backend fills in the values)."""
    kconf = [e for e in externs.values() if e.kind == "kconfig"]
    if not kconf:
        return
    if spec is None:
        raise ELFError(f"{elf.name}: .kconfig externs ({', '.join(e.name for e in kconf)}) "
                       "need BTF (compile with -g)")
    B = btf_model()
    laid = []
    for e in kconf:
        if e.type is None:
            raise ELFError(f"{elf.name}: kconfig extern {e.name!r} has no BTF description")
        size = B.sizeof(e.type.type)
        align = B.alignof(e.type.type)
        laid.append((-align, e.name, size, align, e))
    laid.sort(key=lambda x: (x[0], x[1]))
    off = 0
    layout = []
    for _, name, size, align, e in laid:
        off = (off + align - 1) // align * align
        layout.append((name, off, size, e))
        off += size
    total = max(8, (off + 7) // 8 * 8)
    if total > MAX_DATA_SIZE:
        raise ELFError(f"{elf.name}: .kconfig externs need {total} bytes")
    datasec = find_datasec(spec, ".kconfig")
    if datasec is not None:
        datasec.size = total
        pos = {name: (o, s) for name, o, s, _ in layout}
        for vsi in datasec.vars:
            p = pos.get(getattr(vsi.type, "name", ""))
            if p is not None:
                vsi.offset, vsi.size = p
    result.maps[".kconfig"] = MapSpec(
        name=".kconfig", type=MapType.ARRAY, key_size=4, value_size=total, max_entries=1,
        flags=BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, value_type=datasec,
        btf_value_type_id=btf_type_id(spec, datasec), btf=spec if datasec is not None else None,
        section=".kconfig", data=bytes(total), freeze=True)
    for name, o, s, e in layout:
        result.variables.setdefault(name, VariableSpec(
            name=name, map=".kconfig", offset=o, size=s, type=e.type.type, readonly=True))



__all__ = ["Extern", "build_kconfig_map", "classify_externs"]
