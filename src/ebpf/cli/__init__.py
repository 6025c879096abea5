"""The ``ebpf`` command. Each verb group lives in its own module here and
exposes ``register(subparsers)``; a verb's handler returns an exit code."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

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


def read_input(path: str, error: Callable[[OSError], Exception]) -> bytes:
    """The bytes of file ``path`` (of stdin for ``-``); ``error(e)`` is raised when
    the file cannot be read."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise error(e) from None


#: verbs whose module is named otherwise
VERB_ALIASES = {"disasm": "inspect", "test-run": "testrun", "conformance-plugin": "conformance"}


def _verb_module(argv: list[str]) -> str | None:
    """The module of the verb ``argv`` names (its first word that is not one of the
    global options), or None when it names none we know (help, typos: all load)."""
    for word in argv:
        if word in ("-v", "--verbose"):
            continue
        if word.startswith("-"):
            return None
        module = VERB_ALIASES.get(word, word)
        return module if module in VERB_MODULES else None
    return None


def _version() -> str:
    from .. import __version__

    return __version__


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole ``ebpf`` parser; with ``only``, just that verb module's verbs (a
    command starts without importing every other verb's code)."""
    parser = argparse.ArgumentParser(
        prog="ebpf",
        description="eBPF from Python: compile, inspect, load, run and attach eBPF programs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is being done")
    parser.add_argument("--version", action="version", version=f"ebpf {_version()}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in [only] if only is not None else VERB_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                continue  # verb group not built yet
            raise
        module.register(sub)
    return parser


def _no_gc_while_starting(seconds: float = 1.0) -> None:
    """No cyclic garbage collection while the command starts: its imports and the
    object it loads make tens of thousands of objects and no garbage, and collecting
    them costs ~4 ms of every start. A daemon timer turns it back on after
    ``seconds``, so a long run collects as usual."""
    import gc
    import threading

    if not gc.isenabled():
        return
    gc.disable()
    timer = threading.Timer(seconds, gc.enable)
    timer.daemon = True
    timer.start()


def main(argv: list[str] | None = None) -> int:
    from ..errors import Error

    _no_gc_while_starting()
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_verb_module(words))
    args = parser.parse_args(words)
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
