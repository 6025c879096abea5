"""``ebpf btf dump FILE [--format raw|c] [--json] [--type NAME]`` — show BTF.

FILE is an eBPF object (its .BTF section), a raw BTF file, ``vmlinux`` (the
running kernel, /sys/kernel/btf/vmlinux) or a kernel module name.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("btf", help="inspect BTF type information",
                       description="Inspect BTF: of an object, a raw BTF file or the kernel.")
    verbs = p.add_subparsers(dest="btf_verb", metavar="VERB")
    d = verbs.add_parser("dump", help="list the types (raw), or write them as C (vmlinux.h)",
                         description="Dump BTF types. FILE: an eBPF object, a raw BTF file, "
                                     "'vmlinux' or a kernel module name.")
    d.add_argument("file", help="object, raw BTF file, 'vmlinux' or /sys/kernel/btf/<name>")
    d.add_argument("-f", "--format", choices=("raw", "c"), default="raw",
                   help="raw: one type a line, bpftool style (default); c: a C header")
    d.add_argument("-t", "--type", action="append", default=[], metavar="NAME",
                   help="only this type (by name, e.g. 'task_struct' or 'struct sk_buff'); "
                        "repeatable")
    d.add_argument("--base", help="base BTF for a split BTF file (default: vmlinux for modules)")
    d.add_argument("--json", action="store_true", help="JSON output (raw format)")
    d.set_defaults(func=run_dump)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _selected(spec, names: list[str]) -> list[int]:
    ids: list[int] = []
    for n in names:
        if n.isdigit():
            spec[int(n)]  # raises BTFError when absent
            ids.append(int(n))
        else:
            ids.append(spec.type_id(spec.type_by_name(n)))
    return ids


def run_dump(args: argparse.Namespace) -> int:
    from .. import btf
    from ..btf.dump import dump_raw, type_to_json

    if args.base:
        base = btf.load_spec(args.base)
        spec = btf.Spec.from_file(args.file, base=base)
    else:
        spec = btf.load_spec(args.file)
    ids = _selected(spec, args.type) if args.type else None
    out = sys.stdout
    if args.format == "c":
        if ids is None:
            out.write(btf.vmlinux_h(spec))
        else:
            for tid in ids:
                out.write(btf.render_c(spec[tid], spec) + "\n\n")
        return 0
    if args.json:
        out.write(json.dumps([type_to_json(spec, tid)
                              for tid in (ids if ids is not None else spec.own_ids())]))
        out.write("\n")
        return 0
    for line in dump_raw(spec, ids):
        out.write(line + "\n")
    return 0
