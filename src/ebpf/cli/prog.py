"""``ebpf prog list|show|dump xlated|dump jited|pin`` — programs loaded in the kernel.

A program is named by its id, ``id ID``, ``pinned PATH`` or ``name NAME``
(like bpftool). Tables by default, ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from ..errors import Error


class TargetError(Error):
    """A program/map reference on the command line that names nothing."""


def table(rows: list[dict[str, Any]], columns: Sequence[str], out=None) -> None:
    """Print ``rows`` as an aligned text table."""
    out = out or sys.stdout
    if not rows:
        return
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
          file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out)


def parse_target(tokens: Sequence[str], what: str) -> tuple[tuple[str, str], list[str]]:
    """("id"|"pinned"|"name", value) from the start of ``tokens``, and the rest."""
    if not tokens:
        raise TargetError(f"missing {what}: give an ID, 'pinned PATH' or 'name NAME'")
    head = tokens[0]
    if head in ("id", "pinned", "name"):
        if len(tokens) < 2:
            raise TargetError(f"'{head}' needs a value")
        kind, value, rest = head, tokens[1], list(tokens[2:])
    else:
        kind, value, rest = "id", head, list(tokens[1:])
    if kind == "id" and not value.isdigit():
        raise TargetError(f"bad {what} id {value!r} (expected a number, 'pinned PATH' or "
                          "'name NAME')")
    return (kind, value), rest


def parse_target_alone(tokens: Sequence[str], what: str) -> tuple[str, str]:
    """:func:`parse_target` when ``tokens`` name nothing else."""
    target, rest = parse_target(tokens, what)
    if rest:
        raise TargetError(f"unexpected arguments {' '.join(rest)!r}")
    return target


def resolve_ids(target: tuple[str, str], what: str, lister: Callable[[], Any],
                opener: Callable[[str], Any]) -> list[int]:
    """Ids a target names (several programs/maps may share a name)."""
    kind, value = target
    if kind == "id":
        return [int(value)]
    if kind == "pinned":
        with opener(value) as obj:
            return [obj.id]
    ids = [i.id for i in lister() if i.name == value]
    if not ids:
        raise TargetError(f"no {what} named {value!r}")
    return ids


@contextlib.contextmanager
def _open_pinned_prog(path: str):
    from ..kernel import commands
    from ..kernel.info import fd_kind, prog_info_from_fd

    fd = commands.obj_get(path, what=f"opening pinned program {path}")
    try:
        if fd_kind(fd.fd) != "prog":
            raise TargetError(f"{path} is pinned, but not a program")
        yield SimpleNamespace(id=prog_info_from_fd(fd.fd).id)
    finally:
        fd.close()


def _prog_ids(target: tuple[str, str]) -> list[int]:
    from ..kernel.info import list_programs

    return resolve_ids(target, "program", list_programs, _open_pinned_prog)


def _fmt_time(info) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(info.loaded_at))


def _prog_row(i) -> dict[str, Any]:
    row = {"id": i.id, "type": i.type_name, "name": i.name, "tag": i.tag,
           "loaded_at": _fmt_time(i), "uid": i.created_by_uid, "xlated": i.xlated_size,
           "jited": i.jited_size, "maps": ",".join(map(str, i.map_ids)), "btf_id": i.btf_id}
    if i.run_count or i.run_time_ns:
        row["run_cnt"] = i.run_count
        row["run_time_ns"] = i.run_time_ns
    return row


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prog", help="list, show, dump and pin programs loaded in the kernel",
                       description="Programs loaded in the kernel (like bpftool prog). "
                                   "PROG is an id, 'id ID', 'pinned PATH' or 'name NAME'.")
    verbs = p.add_subparsers(dest="prog_verb", metavar="VERB")
    ls = verbs.add_parser("list", help="every program (table or --json)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    sh = verbs.add_parser("show", help="one program's details")
    sh.add_argument("target", nargs="+", metavar="PROG")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=run_show)
    du = verbs.add_parser("dump", help="translated instructions or JITed code")
    du.add_argument("kind", choices=["xlated", "jited"])
    du.add_argument("target", nargs="+", metavar="PROG")
    du.add_argument("--vm", metavar="OBJ",
                    help="the program PROG (a name) of object OBJ, loaded in the vm: "
                         "its native executor's machine code (jited) or instructions")
    du.add_argument("--json", action="store_true")
    du.set_defaults(func=run_dump)
    rn = verbs.add_parser("run", help="test-run a loaded program (BPF_PROG_TEST_RUN)")
    rn.add_argument("target", nargs="+", metavar="PROG")
    src = rn.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="FILE", help="packet bytes from FILE")
    src.add_argument("--data-hex", metavar="HEX", help="packet bytes as hex text")
    rn.add_argument("--data-size", type=int, default=0, metavar="N",
                    help="zero packet of N bytes when no data is given")
    rn.add_argument("--ctx-hex", metavar="HEX", help="context bytes as hex text")
    rn.add_argument("--repeat", type=int, default=1, metavar="N")
    rn.add_argument("--json", action="store_true")
    rn.set_defaults(func=run_run)
    pn = verbs.add_parser("pin", help="pin a program at a bpffs path")
    pn.add_argument("target", nargs="+", metavar="PROG PATH")
    pn.set_defaults(func=run_pin)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def run_list(args: argparse.Namespace) -> int:
    from ..kernel.info import list_programs

    rows = [_prog_row(i) for i in list_programs()]
    if args.json:
        print(json.dumps(rows, indent=None))
    else:
        cols = ["id", "type", "name", "tag", "loaded_at", "xlated", "jited", "maps"]
        if any("run_cnt" in r for r in rows):
            cols += ["run_cnt", "run_time_ns"]
        table(rows, cols)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..kernel.info import program_info

    target = parse_target_alone(args.target, "program")
    infos = [program_info(i) for i in _prog_ids(target)]
    if args.json:
        data = [i.as_dict() | {"loaded_at": _fmt_time(i)} for i in infos]
        print(json.dumps(data[0] if len(data) == 1 else data))
        return 0
    for i in infos:
        print(f"{i.id}: {i.type_name}  name {i.name}  tag {i.tag}"
              + ("  gpl" if i.gpl_compatible else ""))
        print(f"\tloaded_at {_fmt_time(i)}  uid {i.created_by_uid}")
        print(f"\txlated {i.xlated_size}B  jited {i.jited_size}B  verified_insns "
              f"{i.verified_insns}" + (f"  map_ids {','.join(map(str, i.map_ids))}"
                                       if i.map_ids else ""))
        if i.btf_id:
            print(f"\tbtf_id {i.btf_id}")
        if i.run_count or i.run_time_ns:
            print(f"\trun_cnt {i.run_count}  run_time_ns {i.run_time_ns}")
    return 0


def run_dump(args: argparse.Namespace) -> int:
    from ..kernel.info import dump_jited, dump_xlated, xlated_instructions

    if getattr(args, "vm", None):
        return _dump_vm(args)
    target = parse_target_alone(args.target, "program")
    for pid in _prog_ids(target):
        if args.kind == "xlated":
            if args.json:
                from ..kernel.info import _format

                print(json.dumps([{"opcode": ins.opcode, "dst": ins.dst, "src": ins.src,
                                   "off": ins.off, "imm": ins.imm, "text": _format(ins)}
                                  for ins in xlated_instructions(pid)]))
            else:
                print(dump_xlated(pid))
        else:
            text = dump_jited(pid)
            print(json.dumps(text.splitlines()) if args.json else text)
    return 0


def _dump_vm(args: argparse.Namespace) -> int:
    """``dump jited|xlated --vm OBJ NAME...``: a program loaded in the vm."""
    from .. import load
    from ..isa import disassemble

    names = [t for t in args.target if t != "name"]
    with load(args.vm, backend="vm", executor="native" if args.kind == "jited" else None,
              programs=names) as obj:
        for name in names:
            prog = obj.programs[name]
            text = prog.jited() if args.kind == "jited" else disassemble(prog.spec.instructions)
            print(json.dumps(text.splitlines()) if args.json else text)
    return 0


def run_pin(args: argparse.Namespace) -> int:
    import os

    from ..kernel import commands
    from ..kernel.pin import ensure_bpffs_dir
    from ..uapi import Command

    target, rest = parse_target(args.target, "program")
    if len(rest) != 1:
        raise TargetError("usage: ebpf prog pin PROG PATH")
    ids = _prog_ids(target)
    if len(ids) != 1:
        raise TargetError(f"{len(ids)} programs match; pin one by id")
    path = rest[0]
    ensure_bpffs_dir(os.path.dirname(os.path.abspath(path)))
    with commands.get_fd_by_id(Command.PROG_GET_FD_BY_ID, ids[0]) as fd:
        commands.obj_pin(fd.fd, path, what=f"pinning program {ids[0]} at {path}")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..kernel.programs import open_pinned_program, open_program_by_id

    target = parse_target_alone(args.target, "program")
    try:
        if args.data is not None:
            data = Path(args.data).read_bytes()
        elif args.data_hex is not None:
            data = bytes.fromhex(args.data_hex.replace("0x", ""))
        else:
            data = bytes(args.data_size)
        ctx = bytes.fromhex(args.ctx_hex.replace("0x", "")) if args.ctx_hex else None
    except (OSError, ValueError) as e:
        raise TargetError(f"bad input: {e}") from None
    if target[0] == "pinned":
        prog = open_pinned_program(target[1])
    else:
        ids = _prog_ids(target)
        if len(ids) != 1:
            raise TargetError(f"{len(ids)} programs match; run one by id")
        prog = open_program_by_id(ids[0])
    with prog:
        r = prog.test_run(data, repeat=args.repeat, ctx=ctx)
    if args.json:
        print(json.dumps({"id": prog.id, "retval": r.retval, "duration_ns": r.duration_ns,
                          "data": r.data.hex(), "ctx": r.ctx.hex() if r.ctx is not None else None}))
    else:
        print(f"retval: {r.retval} ({r.retval:#x})  duration: {r.duration_ns} ns")
        if r.data:
            print(f"data out: {r.data.hex()}")
        if r.ctx is not None:
            print(f"ctx out: {r.ctx.hex()}")
    return 0
