"""``ebpf conformance-plugin``: run one program for the public bpf_conformance suite.

Protocol: the program arrives on stdin as hex text (two digits a byte, any
whitespace); the optional first argument is the input memory in the same form.
The program runs in the user-space runtime with r1 pointing at a writable copy
of the memory and r2 holding its length; r0 is printed in hex on stdout (exit 0).
On any error the message goes to stderr and the exit status is 1.

Helper 5 is the suite's "unwind": it returns its first argument and, when that
is 0, ends the program with r0 = 0.
"""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser("conformance-plugin",
                       help="run a program for the bpf_conformance suite (hex on stdin)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("memory", nargs="*", default=[],
                   help="input memory as hex bytes (one argument, or one per byte)")
    p.add_argument("--elf", action="store_true", help="accepted for compatibility; ignored")
    p.add_argument("--debug", action="store_true", help="accepted for compatibility; ignored")
    p.add_argument("--budget", type=int, default=10_000_000,
                   help="instruction budget (default %(default)s)")
    p.add_argument("--executor", choices=["native", "translator", "interpreter"], default=None,
                   help="the vm executor (default: the runtime's default)")
    p.add_argument("--interpret", action="store_true",
                   help="use the reference interpreter (same as --executor interpreter)")
    p.set_defaults(func=_main)


def parse_hex(text: str, what: str) -> bytes:
    from ..errors import Error

    cleaned = "".join(text.split())
    if cleaned.startswith(("0x", "0X")) and len(text.split()) == 1:
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise Error(f"{what} is not hex bytes: {text[:40]!r}") from None


def run_plugin(program: bytes, memory: bytes, *, budget: int = 10_000_000,
               jit: bool = True, executor: str | None = None) -> int:
    """Run raw program bytes the way the conformance suite wants; returns r0."""
    from ..vm.conformance import run_conformance

    return run_conformance(program, memory, budget=budget, jit=jit, executor=executor)


def _main(args: argparse.Namespace) -> int:
    program = parse_hex(sys.stdin.read(), "program")
    memory = parse_hex(" ".join(args.memory), "memory") if args.memory else b""
    executor = "interpreter" if args.interpret else args.executor
    r0 = run_plugin(program, memory, budget=args.budget, executor=executor)
    sys.stdout.write(f"0x{r0:x}\n")
    return 0
