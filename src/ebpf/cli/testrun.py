"""``ebpf test-run OBJ.o PROG [--data FILE|--data-hex HEX] [--repeat N] [--ctx FILE]
[--backend kernel|vm] [--json]``: run one program of an object once (or N times)
with BPF_PROG_TEST_RUN semantics and print r0, the mean duration and the
packet after the run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import Error
from . import read_input


class UsageError(Error):
    """Bad command-line input for test-run."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test-run", help="run a program of an object on a packet/context",
                       description=__doc__)
    p.add_argument("object", help="BPF object (.o), or C source (.c, compiled first)")
    p.add_argument("program", help="program name (function name) in the object")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="FILE", help="packet bytes from FILE ('-' = stdin)")
    src.add_argument("--data-hex", metavar="HEX", help="packet bytes as hex text")
    p.add_argument("--data-size", type=int, default=0, metavar="N",
                   help="zero packet of N bytes when no --data is given")
    p.add_argument("--ctx", metavar="FILE", help="context bytes from FILE")
    p.add_argument("--ctx-hex", metavar="HEX", help="context bytes as hex text")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="runs (default 1)")
    p.add_argument("--backend", choices=["kernel", "vm"], default=None,
                   help="default: kernel when usable, else vm")
    p.add_argument("--const", action="append", default=[], metavar="NAME=VALUE",
                   help="set a const volatile global before loading")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text.replace("0x", "").replace(",", " "))
    except ValueError:
        raise UsageError(f"--{what}-hex: not hex bytes: {text[:40]!r}") from None


def _read(path: str, what: str) -> bytes:
    return read_input(path, lambda e: UsageError(f"--{what} {path}: {e.strerror}"))


def _constants(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--const {item!r}: expected NAME=VALUE")
        try:
            out[name] = int(value, 0)
        except ValueError:
            out[name] = value.encode()
    return out


def run(args: argparse.Namespace) -> int:

    path = Path(args.object)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    tmpdir = None
    if path.suffix == ".c":
        import tempfile

        from ..toolchain import compile as compile_c

        tmpdir = tempfile.TemporaryDirectory(prefix="ebpf-test-run-")
        path = compile_c(path, Path(tmpdir.name) / (path.stem + ".o"))
    try:
        return _run(args, path)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()


def _run(args: argparse.Namespace, path: Path) -> int:
    import ebpf

    data = b""
    if args.data is not None:
        data = _read(args.data, "data")
    elif args.data_hex is not None:
        data = _hex(args.data_hex, "data")
    elif args.data_size:
        data = bytes(args.data_size)
    ctx = None
    if args.ctx is not None:
        ctx = _read(args.ctx, "ctx")
    elif args.ctx_hex is not None:
        ctx = _hex(args.ctx_hex, "ctx")
    with ebpf.load(path, backend=args.backend, constants=_constants(args.const)) as obj:
        prog = obj.programs.get(args.program)
        if prog is None:
            raise UsageError(f"{path}: no program {args.program!r} "
                             f"(programs: {', '.join(sorted(obj.programs)) or 'none'})")
        r = prog.test_run(data, repeat=args.repeat, ctx=ctx)
        backend = obj.backend
    if args.json:
        print(json.dumps({"program": args.program, "backend": backend, "retval": r.retval,
                          "duration_ns": r.duration_ns, "data": r.data.hex(),
                          "ctx": r.ctx.hex() if r.ctx is not None else None}))
        return 0
    print(f"retval: {r.retval} ({r.retval:#x})")
    print(f"duration: {r.duration_ns} ns" + (f" (mean of {args.repeat} runs)"
                                             if args.repeat > 1 else ""))
    if r.data:
        print(f"data out ({len(r.data)} bytes):")
        for off in range(0, len(r.data), 16):
            chunk = r.data[off:off + 16]
            print(f"  {off:04x}: {' '.join(f'{b:02x}' for b in chunk)}")
    if r.ctx is not None:
        print(f"ctx out: {r.ctx.hex()}")
    return 0
