"""What profile, offcputime and stackcount share: their stack and output options
(folded, flame graph, pprof, classic text), symbolizer options, loading their
BPF object and reading its counts by stack."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from ..errors import Error
from ..stacks import StackProfile, write_flame_graph, write_pprof
from ..symbols import Symbolizer
from ..symbols.debugfile import DEFAULT_DEBUG_DIRS


def add_stack_options(ap: argparse.ArgumentParser) -> None:
    """``-U`` (user stacks only) and ``-K`` (kernel stacks only); see :func:`parse_stack_args`."""
    ap.add_argument("-U", "--user-stacks-only", action="store_true", help="user stacks only")
    ap.add_argument("-K", "--kernel-stacks-only", action="store_true",
                    help="kernel stacks only")


def parse_stack_args(ap: argparse.ArgumentParser, argv: Sequence[str] | None
                     ) -> tuple[argparse.Namespace, bool, bool]:
    """The options, and (user, kernel): which stacks ``-U``/``-K`` ask for (both by
    default)."""
    args = ap.parse_args(argv)
    if args.user_stacks_only and args.kernel_stacks_only:
        ap.error("-U and -K exclude each other")
    return args, not args.kernel_stacks_only, not args.user_stacks_only


def stacks_text(user: bool, kernel: bool) -> str:
    """'user + kernel', 'user' or 'kernel' (for the "Tracing..." line)."""
    return "user + kernel" if user and kernel else "user" if user else "kernel"


def add_output_options(ap: argparse.ArgumentParser, duration: str | None = None) -> None:
    """The output options; with ``duration`` ("trace", "profile"), the positional
    seconds to do that (default 5) after them."""
    ap.add_argument("-f", "--folded", action="store_true",
                    help="print folded stacks (one 'comm;root;...;leaf COUNT' line each)")
    ap.add_argument("--flamegraph", metavar="FILE",
                    help="write an interactive flame graph (.html, or .svg)")
    ap.add_argument("--pprof", metavar="FILE", help="write a pprof profile (gzipped protobuf)")
    ap.add_argument("--debug-dir", action="append", metavar="DIR",
                    help="where separate debug files are (default /usr/lib/debug; repeatable)")
    ap.add_argument("--no-demangle", action="store_true", help="show C++/Rust names raw")
    ap.add_argument("--dwarf", action="store_true",
                    help="file:line and inlined frames from DWARF (needs pyelftools)")
    if duration is not None:
        ap.add_argument("duration", nargs="?", type=float, default=5.0,
                        help=f"seconds to {duration} (default 5)")


def symbolizer_from(args: argparse.Namespace) -> Symbolizer:
    return Symbolizer(debug_dirs=tuple(args.debug_dir or DEFAULT_DEBUG_DIRS),
                      demangle=not args.no_demangle, dwarf=args.dwarf)


def count_stacks(obj: Any, link: Any, sym: Symbolizer, duration: float, pid: int | None,
                 ready: Callable[[], None] | None, remember: bool = True
                 ) -> tuple[list[tuple[Any, Any]], float]:
    """With ``link`` attached, call ``ready()`` and let ``obj``'s programs count
    into its ``counts`` map (keys: struct stack_key) for ``duration`` seconds,
    then detach. Returns the (key, value) rows and the seconds counted. With
    ``remember``, the processes seen are remembered by ``sym`` as they appear
    (their user stacks are symbolized once they may have exited)."""
    from ..stacks.collect import remember_pids

    seen: set[int] = set()
    with link:
        if pid:
            sym.remember(pid)  # before it can exit
        if ready is not None:
            ready()
        start = time.monotonic()  # the duration counts from here, once attached
        end = start + duration
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))
            if remember:
                remember_pids(sym, obj.maps["counts"].keys(), seen)
    elapsed = time.monotonic() - start
    rows = list(obj.maps["counts"].items())
    if remember:
        remember_pids(sym, (k for k, _ in rows), seen)
    return rows, elapsed


def note(args: argparse.Namespace, out: IO[str], text: str) -> None:
    """Check ``-p PID`` names a live process, then print the "Sampling at..." line: on ``out``, on stderr with ``-j``, not at all
    with ``-f`` (folded output is for other programs)."""
    pid = getattr(args, "pid", None)
    if pid and not os.path.exists(f"/proc/{pid}"):
        raise Error(f"-p {pid}: no such process")
    if args.folded:
        return
    stream = sys.stderr if getattr(args, "json", False) else out
    stream.write(text + "\n")
    stream.flush()


def print_classic(profile: StackProfile, out: IO[str] = sys.stdout, *,
                  value_label: str = "", limit: int | None = None) -> None:
    """BCC style: kernel frames, ``--``, user frames, ``-  comm (pid)``, the value;
    smallest first so the biggest ends next to the prompt. Stacks whose frames
    have the same names are printed once, with their values added."""
    merged: dict[tuple, tuple[Any, int]] = {}
    for stack, value in profile.top():
        key = (tuple(f.label() for f in stack.frames), stack.comm, stack.pid)
        first, total = merged.get(key, (stack, 0))
        merged[key] = (first, total + value)
    ordered = sorted(merged.values(), key=lambda sv: -sv[1])
    for stack, value in reversed(ordered[:limit] if limit is not None else ordered):
        kernel = [f for f in stack.frames if f.kernel]
        user = [f for f in stack.frames if not f.kernel]
        for f in kernel:
            out.write(f"    {f.label()}\n")
        if kernel and user:
            out.write("    --\n")
        for f in user:
            out.write(f"    {f.label()}\n")
        if not stack.frames:
            out.write("    [no stack]\n")
        if stack.comm or stack.pid:
            out.write(f"    -                {stack.comm} ({stack.pid})\n")
        out.write(f"        {value}{value_label}\n\n")


def write_outputs(profile: StackProfile, args: argparse.Namespace, title: str,
                  out: IO[str] = sys.stdout, *, value_label: str = "") -> None:
    """Print the profile as asked (folded, JSON lines or classic) and write the
    files asked for."""
    if getattr(args, "json", False):
        for stack, value in profile.top():
            out.write(json.dumps({"comm": stack.comm, "pid": stack.pid, "value": value,
                                  "unit": profile.unit,
                                  "frames": [{"name": f.name, "module": f.module,
                                              "address": f.address, "kernel": f.kernel}
                                             for f in stack.frames]}) + "\n")
    elif args.folded:
        out.write(profile.folded())
    else:
        print_classic(profile, out, value_label=value_label)
    if args.flamegraph:
        write_flame_graph(profile, args.flamegraph, title=title)
    if args.pprof:
        write_pprof(profile, args.pprof)
    out.flush()


__all__ = ["add_output_options", "note", "print_classic", "symbolizer_from",
           "write_outputs"]
