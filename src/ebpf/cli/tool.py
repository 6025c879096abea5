"""``ebpf tool list`` and ``ebpf tool NAME [options]``: the classic tools."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tool", help="run one of the classic tools (ebpf tool list)",
                       description="Run a classic BPF tool (execsnoop, biolatency...). "
                                   "`ebpf tool list` names them; `ebpf tool NAME --help` "
                                   "shows a tool's options.")
    p.add_argument("name", metavar="NAME", help="a tool name, or 'list'")
    p.add_argument("options", nargs=argparse.REMAINDER, help="the tool's options")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from .. import tools

    if args.name == "list":
        json_lines = "-j" in args.options or "--json" in args.options
        for name in tools.names():
            if json_lines:
                import json

                print(json.dumps({"name": name, "summary": tools.TOOLS[name]}))
            else:
                print(f"{name:<16} {tools.TOOLS[name]}")
        return 0
    try:
        return tools.run(args.name, args.options)
    except SystemExit as e:  # argparse's --help / usage errors inside the tool
        return int(e.code or 0) if not isinstance(e.code, str) else 2
