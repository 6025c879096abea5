"""The ``ebpf`` command. Each verb group lives in its own module here and
exposes ``register(subparsers)``; a verb's handler returns an exit code."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Verb-group modules, in help order. Each defines register(subparsers).
VERB_MODULES = [
    "run",          # ebpf run
    "compile",      # ebpf compile
    "inspect",      # ebpf inspect, ebpf disasm
    "asm",          # ebpf asm
    "btf",          # ebpf btf dump
    "testrun",      # ebpf test-run
    "prog",         # ebpf prog ...
    "map",          # ebpf map ...
    "trace",        # ebpf trace (trace_pipe)
    "conformance",  # ebpf conformance-plugin
    "tool",         # ebpf tool list / ebpf tool NAME
    "export",       # ebpf export (Prometheus exporter)
    "verify",       # ebpf verify
]


def _version() -> str:
    from .. import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ebpf",
        description="eBPF from Python: compile, inspect, load, run and attach eBPF programs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is being done")
    parser.add_argument("--version", action="version", version=f"ebpf {_version()}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                continue  # verb group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..errors import Error

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Error as e:
        log = getattr(e, "log", "")
        if args.verbose and log:  # VerifierError: the whole log with -v
            print(log.rstrip(), file=sys.stderr)
        print(f"ebpf {args.verb}: error: {e}", file=sys.stderr)
        if getattr(e, "hint", ""):
            print(f"ebpf {args.verb}: {e.hint}", file=sys.stderr)
        if log and not args.verbose:
            print(f"ebpf {args.verb}: the whole verifier log: ebpf -v {args.verb} ...",
                  file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # a file named on the command line, a socket...: no traceback
        print(f"ebpf {args.verb}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
