"""``ebpf compile SRC.c [-o OUT] [--cc clang|zig|gcc|PATH] [-I DIR] [-D NAME=VAL] [-O N]``."""

from __future__ import annotations

import argparse
import json
import logging

from ..errors import CompileError

log = logging.getLogger(__name__)


def _define(text: str) -> tuple[str, str | None]:
    name, sep, value = text.partition("=")
    if not name or not (name[0].isalpha() or name[0] == "_"):
        raise argparse.ArgumentTypeError(f"bad -D {text!r}: expected NAME or NAME=VALUE")
    return name, (value if sep else None)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compile",
        help="compile libbpf-style C to a BPF object (.o with BTF)",
        description="Compile a libbpf-style C program to a BPF ELF object. Our own "
                    "<bpf/bpf_helpers.h>, bpf_tracing.h, bpf_core_read.h and bpf_endian.h "
                    "come first on the include path; vmlinux.h is generated from the "
                    "running kernel's BTF when the source includes it and no -I dir has one.",
    )
    p.add_argument("src", help="C source file")
    p.add_argument("-o", "--output", help="output object (default: SRC with .o)")
    p.add_argument("--cc", help="compiler: clang, gcc, zig, or a path (default: best found)")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="add an include directory (before ours)")
    p.add_argument("-D", dest="define", action="append", default=[], type=_define,
                   metavar="NAME[=VAL]", help="define a preprocessor macro")
    p.add_argument("-O", dest="opt", type=int, default=2, choices=range(0, 4), metavar="N",
                   help="optimisation level 0-3 (default 2)")
    p.add_argument("--cpu", "--mcpu", dest="mcpu", default=None, metavar="VERSION",
                   help="BPF ISA version v1..v4, passed as -mcpu (default: the compiler's "
                        "own; v3 when the source needs it)")
    p.add_argument("--btf", help="BTF file to generate vmlinux.h from (default: kernel's)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..toolchain import compile as compile_c
    from ..toolchain import find_compiler

    compiler = find_compiler(args.cc)
    cc = args.cc if args.cc in (None, "clang", "gcc", "zig") else compiler.command[0]
    try:
        out = compile_c(args.src, args.output, cc=cc, include_dirs=args.include,
                        defines=dict(args.define), opt=args.opt, cpu=args.mcpu, btf=args.btf)
    except CompileError as e:
        if args.json:
            print(json.dumps({"ok": False, "error": str(e), "command": e.command}))
            return 1
        raise
    if args.json:
        print(json.dumps({"ok": True, "output": str(out), "compiler": compiler.kind,
                          "command": list(compiler.command)}))
    else:
        print(out)
    return 0
