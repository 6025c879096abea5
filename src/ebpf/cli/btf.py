"""``ebpf btf dump FILE [--format raw|c] [--json] [--type NAME]`` — show BTF.

FILE is an eBPF object (its .BTF section), a raw BTF file, ``vmlinux`` (the
running kernel, /sys/kernel/btf/vmlinux) or a kernel module name.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _raw_btf_file(name: str) -> bytes | None:
    """The bytes of ``name`` when it is a raw BTF file of its own (the kernel's
    ``vmlinux`` included), so a cached dump needs no parsing; None otherwise."""
    from ..btf import KERNEL_BTF_DIR

    path = os.path.join(KERNEL_BTF_DIR, "vmlinux") if name == "vmlinux" else name
    if os.path.dirname(path) == KERNEL_BTF_DIR and os.path.basename(path) != "vmlinux":
        return None  # a module: split BTF on top of vmlinux
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data if data[:2] in (b"\x9f\xeb", b"\xeb\x9f") else None


def run_dump(args: argparse.Namespace) -> int:
    from .. import btf
    from ..btf.cache import cached_text
    from ..btf.dump import dump_raw, type_to_json

    data = None if args.base or args.type else _raw_btf_file(args.file)
    spec_memo: list[btf.Spec] = []

    def spec() -> btf.Spec:
        if not spec_memo:
            if args.base:
                spec_memo.append(btf.Spec.from_file(args.file, base=btf.load_spec(args.base)))
            else:
                spec_memo.append(btf.load_spec(args.file))
        return spec_memo[0]

    out = sys.stdout
    if args.type:
        s = spec()
        ids = _selected(s, args.type)
        if args.format == "c":
            for tid in ids:
                out.write(btf.render_c(s[tid], s) + "\n\n")
        elif args.json:
            out.write(json.dumps([type_to_json(s, tid) for tid in ids]) + "\n")
        else:
            for line in dump_raw(s, ids):
                out.write(line + "\n")
        return 0

    # whole-spec listings depend only on the BTF bytes: made once, then cached
    if args.format == "c":
        name, make = "vmlinux.h", lambda: btf.vmlinux_h(spec())
    elif args.json:
        name, make = "dump.json", lambda: json.dumps(
            [type_to_json(spec(), tid) for tid in spec().own_ids()]) + "\n"
    else:
        name, make = "dump.txt", lambda: "".join(line + "\n" for line in dump_raw(spec()))
    out.write(cached_text(data if data is not None else spec(), name, make))
    return 0
