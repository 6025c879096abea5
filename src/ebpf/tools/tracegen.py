"""The C that ``trace`` generates for its probes, and the formatting of its events.

A probe is ``SPEC ["FORMAT"[, ARG...]]``: SPEC as in :mod:`ebpf.tools.probes`;
FORMAT a printf-style string (``%d %i %u %x %X %o %c %s %p``, with ``l``/``ll``/``h``
length modifiers and widths); ARGs ``arg1``..``arg6`` (function arguments, uprobes),
``retval`` (uretprobes), ``args->FIELD`` (tracepoint fields from the tracepoint's
format file; ``char *`` fields and ``__data_loc char[]`` fields print with %s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import Error
from .probes import TRACEFS, Target

MAX_ARGS = 6
STR_LEN = 80
_SPEC = re.compile(r"%([-+ #0]*\d*(?:\.\d+)?)(hh|h|ll|l|z)?([diuxXocsp%])")


@dataclass
class TpField:
    name: str
    type: str
    offset: int
    size: int
    signed: bool


@dataclass
class Arg:
    expr: str
    conv: str          # d i u x X o c s p
    flags: str = ""
    size: int = 8
    signed: bool = True
    source: str = ""   # C expression (numbers) or how to read a string


@dataclass
class Probe:
    spec: str
    target: Target
    fmt: str
    args: list[Arg] = field(default_factory=list)


def tp_fields(name: str) -> dict[str, TpField]:
    """Fields of tracepoint ``cat/event`` from its tracefs format file."""
    path = TRACEFS / "events" / name / "format"
    try:
        text = path.read_text()
    except OSError as e:
        raise Error(f"tracepoint {name}: cannot read {path}: {e.strerror}") from None
    out = {}
    for m in re.finditer(r"field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);", text):
        decl, off, size, signed = m.groups()
        fname = decl.split()[-1].split("[")[0]
        out[fname] = TpField(fname, decl, int(off), int(size), signed == "1")
    return out


def split_probe(text: str) -> tuple[str, str, list[str]]:
    """``SPEC "FORMAT", a, b`` -> (SPEC, FORMAT, [a, b])."""
    text = text.strip()
    m = re.match(r'^(\S+)\s*(?:"((?:[^"\\]|\\.)*)"\s*(?:,(.*))?)?$', text)
    if not m:
        raise Error(f"cannot parse probe {text!r}: expected SPEC \"FORMAT\", ARG, ...")
    spec, fmt, rest = m.group(1), m.group(2) or "", m.group(3) or ""
    args = [a.strip() for a in rest.split(",") if a.strip()]
    return spec, bytes(fmt, "utf-8").decode("unicode_escape"), args


def build(probe_text: str, targets: list[Target]) -> list[Probe]:
    spec, fmt, exprs = split_probe(probe_text)
    convs = [m for m in _SPEC.finditer(fmt) if m.group(3) != "%"]
    if len(convs) != len(exprs):
        raise Error(f"probe {probe_text!r}: the format has {len(convs)} conversions but "
                    f"{len(exprs)} arguments are given")
    if len(exprs) > MAX_ARGS:
        raise Error(f"probe {probe_text!r}: at most {MAX_ARGS} arguments")
    out = []
    for t in targets:
        fields = tp_fields(t.name) if t.kind == "tracepoint" else {}
        args = []
        for m, expr in zip(convs, exprs, strict=True):
            a = Arg(expr, m.group(3), m.group(1))
            _bind(a, t, fields, probe_text)
            args.append(a)
        out.append(Probe(spec, t, fmt, args))
    return out


def _bind(a: Arg, t: Target, fields: dict[str, TpField], where: str) -> None:
    e = a.expr
    if t.kind == "tracepoint":
        m = re.fullmatch(r"args->(\w+)", e)
        if not m or m.group(1) not in fields:
            raise Error(f"probe {where!r}: {e!r} is not a field of tracepoint {t.name} "
                        f"(fields: {', '.join(f for f in fields if not f.startswith('common_'))})")
        f = fields[m.group(1)]
        a.size, a.signed = min(f.size, 8), f.signed
        if a.conv == "s":
            if f.type.startswith("__data_loc"):
                a.source = f"loc:{f.offset}"
            elif "*" in f.type:
                a.source = f"ptr_ctx:{f.offset}"
            elif "char" in f.type and "[" in f.type:
                a.source = f"arr:{f.offset}"
            else:
                raise Error(f"probe {where!r}: %s needs a string field, {f.name} is {f.type}")
        else:
            a.source = f"ctx:{f.offset}:{a.size}"
        return
    m = re.fullmatch(r"arg([1-6])", e)
    if m:
        if t.kind == "uretprobe":
            raise Error(f"probe {where!r}: arguments are not available at a return probe; "
                        "use retval")
        a.source = f"PT_REGS_PARM{m.group(1)}(ctx)"
    elif e == "retval":
        if t.kind != "uretprobe":
            raise Error(f"probe {where!r}: retval is only available at a return probe (r:)")
        a.source = "PT_REGS_RC(ctx)"
    else:
        raise Error(f"probe {where!r}: unknown argument {e!r} (arg1..arg6, retval, "
                    "args->FIELD)")
    if a.conv == "s":
        a.source = "ptr:" + a.source


def c_source(probes: list[Probe]) -> str:
    """One BPF program per probe, all sending ``struct event`` records."""
    lines = ['#include "vmlinux.h"', "#include <bpf/bpf_helpers.h>",
             "#include <bpf/bpf_tracing.h>", "",
             "struct event {", "\t__u32 probe;", "\t__u32 pid;", "\t__u32 tid;", "\t__u32 pad;",
             "\t__u64 ts;", "\tchar comm[16];", f"\t__u64 vals[{MAX_ARGS}];",
             f"\tchar strs[{MAX_ARGS}][{STR_LEN}];", "};", "",
             "const volatile __u32 target_pid = 0;",
             "const volatile __u32 target_tid = 0;",
             "const struct event *unused_event __attribute__((unused));", "",
             "struct {", "\t__uint(type, BPF_MAP_TYPE_RINGBUF);",
             "\t__uint(max_entries, 1024 * 1024);", "} events SEC(\".maps\");", ""]
    for i, p in enumerate(probes):
        t = p.target
        sec = f"tracepoint/{t.name}" if t.kind == "tracepoint" else t.kind
        ctype = "void" if t.kind == "tracepoint" else "struct pt_regs"
        lines += [f'SEC("{sec}")', f"int probe_{i}({ctype} *ctx)", "{",
                  "\t__u64 id = bpf_get_current_pid_tgid();", "\tstruct event *e;", "",
                  "\tif (target_pid && (id >> 32) != target_pid)", "\t\treturn 0;",
                  "\tif (target_tid && (__u32)id != target_tid)", "\t\treturn 0;",
                  "\te = bpf_ringbuf_reserve(&events, sizeof(*e), 0);", "\tif (!e)",
                  "\t\treturn 0;", f"\te->probe = {i};", "\te->pid = id >> 32;",
                  "\te->tid = (__u32)id;", "\te->ts = bpf_ktime_get_ns();",
                  "\tbpf_get_current_comm(e->comm, sizeof(e->comm));"]
        for j, a in enumerate(p.args):
            lines += ["\t" + s for s in _read(a, j)]
        lines += ["\tbpf_ringbuf_submit(e, 0);", "\treturn 0;", "}", ""]
    lines.append('char LICENSE[] SEC("license") = "GPL";')
    return "\n".join(lines) + "\n"


def _read(a: Arg, j: int) -> list[str]:
    src = a.source
    if src.startswith("ctx:"):
        _, off, size = src.split(":")
        return [f"e->vals[{j}] = 0;",
                f"bpf_probe_read_kernel(&e->vals[{j}], {size}, (char *)ctx + {off});"]
    if src.startswith("loc:"):
        off = src.split(":")[1]
        return ["{", "\t__u32 loc = 0;",
                f"\tbpf_probe_read_kernel(&loc, 4, (char *)ctx + {off});",
                f"\tbpf_probe_read_kernel_str(e->strs[{j}], {STR_LEN}, "
                "(char *)ctx + (loc & 0xFFFF));", "}"]
    if src.startswith("arr:"):
        off = src.split(":")[1]
        return [f"bpf_probe_read_kernel_str(e->strs[{j}], {STR_LEN}, (char *)ctx + {off});"]
    if src.startswith("ptr_ctx:"):
        off = src.split(":")[1]
        return ["{", "\tconst char *p = 0;",
                f"\tbpf_probe_read_kernel(&p, 8, (char *)ctx + {off});",
                f"\tif (bpf_probe_read_user_str(e->strs[{j}], {STR_LEN}, p) < 0)",
                f"\t\tbpf_probe_read_kernel_str(e->strs[{j}], {STR_LEN}, p);", "}"]
    if src.startswith("ptr:"):
        return [f"bpf_probe_read_user_str(e->strs[{j}], {STR_LEN}, (void *){src[4:]});"]
    return [f"e->vals[{j}] = (__u64){src};"]


def render(p: Probe, vals: list[int], strs: list[bytes]) -> str:
    """The probe's message for one event, printf-style."""
    out, j, pos = [], 0, 0
    for m in _SPEC.finditer(p.fmt):
        out.append(p.fmt[pos:m.start()])
        pos = m.end()
        flags, conv = m.group(1), m.group(3)
        if conv == "%":
            out.append("%")
            continue
        a = p.args[j]
        if conv == "s":
            out.append(("%" + flags + "s") % strs[j].split(b"\0", 1)[0].decode("utf-8",
                                                                               "replace"))
        else:
            bits = 8 * a.size
            if a.source.startswith("PT_REGS") and m.group(2) not in ("l", "ll", "z") \
                    and conv != "p":
                bits = 32  # an int, as printf reads it without a length modifier
            v = vals[j] & ((1 << bits) - 1)
            if conv in "di" and (a.signed or a.source.startswith("PT_REGS")) \
                    and v >> (bits - 1):
                v -= 1 << bits
            if conv == "p":
                out.append(f"0x{v:x}")
            elif conv == "c":
                out.append(chr(v & 0xFF))
            else:
                out.append(("%" + flags + ("d" if conv == "i" else conv)) % v)
        j += 1
    out.append(p.fmt[pos:])
    return "".join(out)


__all__ = ["Arg", "Probe", "build", "c_source", "render", "split_probe", "tp_fields"]
