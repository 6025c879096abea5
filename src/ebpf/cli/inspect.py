"""``ebpf inspect OBJ.o`` (programs, maps, variables, BTF summary) and
``ebpf disasm OBJ.o [-s SECTION] [-p PROGRAM]`` (each program's linked code,
with source lines from BTF line info and relocation targets).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .. import spec as S

_MAP_FLAGS = [
    (S.BPF_F_NO_PREALLOC, "NO_PREALLOC"), (S.BPF_F_NO_COMMON_LRU, "NO_COMMON_LRU"),
    (S.BPF_F_NUMA_NODE, "NUMA_NODE"), (S.BPF_F_RDONLY, "RDONLY"), (S.BPF_F_WRONLY, "WRONLY"),
    (S.BPF_F_ZERO_SEED, "ZERO_SEED"), (S.BPF_F_RDONLY_PROG, "RDONLY_PROG"),
    (S.BPF_F_WRONLY_PROG, "WRONLY_PROG"), (S.BPF_F_MMAPABLE, "MMAPABLE"),
    (S.BPF_F_INNER_MAP, "INNER_MAP"), (1 << 13, "LINK"),
]
_PROG_FLAGS = [(S.BPF_F_SLEEPABLE, "SLEEPABLE"), (S.BPF_F_XDP_HAS_FRAGS, "XDP_HAS_FRAGS"),
               (S.BPF_F_STRICT_ALIGNMENT, "STRICT_ALIGNMENT"),
               (S.BPF_F_ANY_ALIGNMENT, "ANY_ALIGNMENT")]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show the programs, maps and globals of an object",
                       description="Show what an eBPF ELF object holds: programs (section, "
                                   "type, attach target, size), maps, global variables, "
                                   "externs and a BTF summary.")
    p.add_argument("object", help="eBPF ELF object (.o)")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")
    p.set_defaults(func=run_inspect)

    d = sub.add_parser("disasm", help="disassemble the programs of an object",
                       description="Disassemble each program of an object as loaded: the "
                                   "program followed by the subprograms it calls, with source "
                                   "lines (BTF line info) and relocation targets.")
    d.add_argument("object", help="eBPF ELF object (.o)")
    d.add_argument("-s", "--section", action="append", default=[],
                   help="only programs in this ELF section (repeatable)")
    d.add_argument("-p", "--program", action="append", default=[],
                   help="only this program (repeatable)")
    d.add_argument("--no-source", action="store_true", help="leave out source line comments")
    d.add_argument("--decimal", action="store_true",
                   help="immediates in decimal (llvm-objdump --no-print-imm-hex)")
    d.set_defaults(func=run_disasm)


# ---------------------------------------------------------------------------
# helpers


def flag_names(value: int, table: list[tuple[int, str]]) -> str:
    """``"RDONLY_PROG|MMAPABLE"`` for a flags word (unknown bits in hex)."""
    names = []
    rest = value
    for bit, name in table:
        if value & bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(hex(rest))
    return "|".join(names) or "-"


def _type_name(t: Any) -> str:
    if t is None:
        return ""
    try:
        from ..btf import type_name

        return type_name(t)
    except Exception:  # noqa: BLE001 - display only
        return getattr(t, "name", "") or type(t).__name__


def table(rows: Sequence[Sequence[Any]], header: Sequence[str], out=None) -> None:
    """Print rows aligned under ``header``."""
    out = out or sys.stdout
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def _attach(p: S.ProgramSpec) -> str:
    if p.attach_type is not None:
        return p.attach_type.name
    return "-"


def program_dict(p: S.ProgramSpec) -> dict[str, Any]:
    from ..spec.sections import classify, needs_target

    info = classify(p.section) if p.section else None
    ptype = p.type.name
    if info is not None and not info.known:
        ptype = "UNSPEC (unknown section)"
    elif info is not None and p.type.name == "UNSPEC" and info.program_type_value:
        ptype = f"#{info.program_type_value}"
    return {
        "name": p.name,
        "section": p.section,
        "type": ptype,
        "attach_type": p.attach_type.name if p.attach_type is not None else None,
        "attach_kind": p.attach_kind,
        "attach_to": p.attach_to,
        "needs_target": needs_target(p),
        "flags": flag_names(p.flags, _PROG_FLAGS) if p.flags else "",
        "instructions": len(p.instructions),
        "slots": sum(i.size for i in p.instructions),
        "functions": [f.name for f in p.func_infos],
        "license": p.license,
        "autoload": getattr(p, "autoload", True),
    }


def map_dict(m: S.MapSpec) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": m.name,
        "type": m.type.name,
        "key_size": m.key_size,
        "value_size": m.value_size,
        "max_entries": m.max_entries,
        "flags": flag_names(m.flags, _MAP_FLAGS) if m.flags else "",
        "pinning": _pin_name(m.pinning),
        "section": m.section,
        "key_type": _type_name(m.key_type),
        "value_type": _type_name(m.value_type),
    }
    if m.numa_node:
        d["numa_node"] = m.numa_node
    if m.map_extra:
        d["map_extra"] = m.map_extra
    if m.inner is not None:
        d["inner"] = map_dict(m.inner)
    if m.contents:
        d["contents"] = [[k, v if isinstance(v, (int, str)) else repr(v)]
                         for k, v in m.contents]
    if m.freeze:
        d["freeze"] = True
    return d


def variable_dict(v: S.VariableSpec) -> dict[str, Any]:
    return {"name": v.name, "map": v.map, "offset": v.offset, "size": v.size,
            "type": _type_name(v.type), "readonly": v.readonly, "constant": v.constant}


def btf_summary(obj: S.ObjectSpec) -> dict[str, Any] | None:
    if obj.btf is None:
        return None
    btf = obj.btf
    kinds: dict[str, int] = {}
    try:
        for tid in btf.own_ids():
            k = btf.kind_of(tid)
            kinds[k] = kinds.get(k, 0) + 1
    except Exception:  # noqa: BLE001 - summary only
        pass
    progs = obj.programs.values()
    return {
        "types": len(btf),
        "kinds": dict(sorted(kinds.items())),
        "func_info": sum(len(p.func_infos) for p in progs),
        "line_info": sum(len(p.line_infos) for p in progs),
        "core_relocations": sum(1 for p in progs for i in p.instructions if i.core is not None),
    }


def object_dict(obj: S.ObjectSpec) -> dict[str, Any]:
    return {
        "path": obj.path,
        "license": obj.license,
        "kernel_version": obj.kernel_version,
        "programs": [program_dict(p) for p in obj.programs.values()],
        "maps": [map_dict(m) for m in obj.maps.values()],
        "variables": [variable_dict(v) for v in obj.variables.values()],
        "kconfig": list(obj.kconfig),
        "ksyms": list(obj.ksyms),
        "btf": btf_summary(obj),
    }


# ---------------------------------------------------------------------------
# inspect


def run_inspect(args: argparse.Namespace) -> int:
    from ..elf import read_file

    obj = read_file(args.object)
    d = object_dict(obj)
    out = sys.stdout
    if args.json:
        json.dump(d, out, indent=2)
        out.write("\n")
        return 0
    kv = f"{obj.kernel_version:#x}" if obj.kernel_version else "-"
    out.write(f"{obj.path}: license {obj.license or '-'!r}, kernel version {kv}\n\n")
    out.write(f"Programs ({len(d['programs'])}):\n")
    if d["programs"]:
        rows = []
        for p in d["programs"]:
            target = p["attach_to"] or ("(given at attach)" if p["needs_target"] else "-")
            flags = "|".join(x for x in (p["flags"], "" if p["autoload"] else "no-autoload")
                             if x)
            rows.append([p["name"], p["section"], p["type"], p["attach_type"] or "-", target,
                         p["instructions"], flags or "-"])
        table(rows, ["NAME", "SECTION", "TYPE", "ATTACH TYPE", "TARGET", "INSNS", "FLAGS"])
    out.write(f"\nMaps ({len(d['maps'])}):\n")
    if d["maps"]:
        rows = []
        for m in d["maps"]:
            extra = []
            if "inner" in m:
                i = m["inner"]
                extra.append(f"inner {i['type']} {i['key_size']}/{i['value_size']}/"
                             f"{i['max_entries']}")
            if "contents" in m:
                extra.append("init " + ", ".join(f"[{k}]={v}" for k, v in m["contents"]))
            key = f"{m['key_size']}" + (f" ({m['key_type']})" if m["key_type"] else "")
            value = f"{m['value_size']}" + (f" ({m['value_type']})" if m["value_type"] else "")
            rows.append([m["name"], m["type"], key, value, m["max_entries"], m["flags"] or "-",
                         m["pinning"] or "-", "; ".join(extra)])
        table(rows, ["NAME", "TYPE", "KEY", "VALUE", "MAX", "FLAGS", "PINNING", ""])
    out.write(f"\nGlobal variables ({len(d['variables'])}):\n")
    if d["variables"]:
        rows = [[v["name"], v["map"], v["offset"], v["size"], v["type"] or "-",
                 "const" if v["constant"] else ("ro" if v["readonly"] else "rw")]
                for v in d["variables"]]
        table(rows, ["NAME", "MAP", "OFFSET", "SIZE", "TYPE", "ACCESS"])
    if obj.kconfig or obj.ksyms:
        out.write("\nExterns:\n")
        if obj.kconfig:
            out.write(f"  kconfig: {', '.join(obj.kconfig)}\n")
        if obj.ksyms:
            out.write(f"  ksyms:   {', '.join(obj.ksyms)}\n")
    b = d["btf"]
    out.write("\nBTF: ")
    if b is None:
        out.write("none\n")
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in b["kinds"].items())
        out.write(f"{b['types']} types ({kinds}); func_info {b['func_info']}, line_info "
                  f"{b['line_info']}, CO-RE relocations {b['core_relocations']}\n")
    return 0


# ---------------------------------------------------------------------------
# disasm


def core_text(rec: Any, btf: Any) -> str:
    """``CO-RE field_byte_offset struct task_struct.real_parent`` style text."""
    kind = getattr(getattr(rec, "kind", None), "name", str(getattr(rec, "kind", "?")))
    access = getattr(rec, "access_str", "")
    where = ""
    if btf is not None:
        try:
            from ..btf import Array, Composite, resolve, type_name

            t = btf[rec.type_id]
            where = type_name(t)
            parts = [int(x) for x in access.split(":") if x != ""]
            path = ""
            if parts and parts[0]:
                path += f"[{parts[0]}]"
            cur = resolve(t)
            for idx in parts[1:]:
                if isinstance(cur, Composite):
                    m = cur.members[idx]
                    path += f".{m.name}" if m.name else f".<anon{idx}>"
                    cur = resolve(m.type)
                elif isinstance(cur, Array):
                    path += f"[{idx}]"
                    cur = resolve(cur.type)
                else:
                    break
            where += path
        except Exception:  # noqa: BLE001 - fall back to the raw access string
            pass
    return f"CO-RE {kind.lower()} {where} ({access})".replace("  ", " ")


def reference_text(ins: Any) -> str:
    from ..isa import (
        FunctionReference,
        KconfigReference,
        KsymReference,
        MapReference,
    )

    ref = ins.reference
    if isinstance(ref, MapReference):
        if ref.value:
            return f"map value: {ref.map}+{ref.offset}" if ref.offset else \
                f"map value: {ref.map}"
        return f"map: {ref.map}"
    if isinstance(ref, FunctionReference):
        return "" if ins.is_call else f"func: {ref.function}"
    if isinstance(ref, KsymReference):
        if ins.is_call:
            return ""  # the instruction text names the kfunc already
        kind = "kfunc" if ref.kfunc else "ksym"
        return f"{kind}: {ref.name}" + (" (weak)" if ref.weak else "")
    if isinstance(ref, KconfigReference):
        return f"kconfig: {ref.name}"
    if ref is None and ins.is_helper_call:
        from ..uapi import HelperId

        try:
            return f"bpf_{HelperId(ins.imm).name}"
        except ValueError:
            return ""
    return ""


def disassemble_program(p: S.ProgramSpec, *, source: bool = True, hex: bool = True) -> str:
    """The text ``ebpf disasm`` prints for one program."""
    from ..isa.disasm import format_instruction

    starts = {f.insn_off: f.name for f in p.func_infos}
    lines = {li.insn_off: li for li in p.line_infos}
    out = []
    slot = 0
    last_line: tuple[str, int] | None = None
    for ins in p.instructions:
        if slot in starts and slot != 0:
            out.append("")
            out.append(f"<{starts[slot]}>:")
        li = lines.get(slot)
        if source and li is not None and li.line_text.strip():
            key = (li.file_name, li.line)
            if key != last_line:
                out.append(f"; {li.line_text.strip()}")
                last_line = key
        text = format_instruction(ins, hex=hex)
        notes = []
        r = reference_text(ins)
        if r:
            notes.append(r)
        if ins.core is not None:
            notes.append(core_text(ins.core, p.btf))
        line = f"{slot:>8}:\t{text}"
        if notes:
            line += "\t; " + "; ".join(notes)
        out.append(line)
        slot += ins.size
    return "\n".join(out)


def run_disasm(args: argparse.Namespace) -> int:
    from ..elf import read_file
    from ..errors import Error

    obj = read_file(args.object)
    progs = list(obj.programs.values())
    if args.section:
        progs = [p for p in progs if p.section in args.section]
    if args.program:
        missing = [n for n in args.program if n not in obj.programs]
        if missing:
            raise Error(f"{obj.path}: no program named {', '.join(map(repr, missing))} "
                        f"(programs: {', '.join(obj.programs) or 'none'})")
        progs = [p for p in progs if p.name in args.program]
    if not progs:
        what = f" in section {', '.join(map(repr, args.section))}" if args.section else ""
        raise Error(f"{obj.path}: no programs{what}")
    out = sys.stdout
    for i, p in enumerate(progs):
        if i:
            out.write("\n")
        target = f" -> {p.attach_to}" if p.attach_to else ""
        out.write(f"{p.name}: section {p.section!r}, {p.type.name}{target}, "
                  f"{len(p.instructions)} instructions\n")
        out.write(f"<{p.name}>:\n")
        out.write(disassemble_program(p, source=not args.no_source, hex=not args.decimal))
        out.write("\n")
    return 0


__all__ = ["disassemble_program", "object_dict", "register"]


def _pin_name(pinning: int) -> str:
    """``BY_NAME``, ``""`` for none, or the raw number libbpf does not know."""
    from ..spec import PinType

    if not pinning:
        return ""
    return pinning.name if isinstance(pinning, PinType) else str(int(pinning))
