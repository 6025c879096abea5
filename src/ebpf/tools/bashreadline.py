"""bashreadline: print bash commands entered, system-wide (a uretprobe on bash's
``readline()``).
"""

from __future__ import annotations

import shutil

from ..errors import Error
from .base import Ready, Row, ToolParser, hms, require_kernel, stream, text

EXAMPLES = """\
    ebpf tool bashreadline              # trace commands typed into /bin/bash
    ebpf tool bashreadline -s /usr/lib/libreadline.so   # readline in a shared library
"""


def parser() -> ToolParser:
    p = ToolParser("bashreadline", "Print entered bash commands from all running shells",
                   EXAMPLES)
    p.add_argument("-s", "--shared", help="the binary or library providing readline "
                   "(default: bash)")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    require_kernel("bashreadline")
    binary = args.shared or shutil.which("bash") or "/bin/bash"
    if not args.shared and binary == "/bin/bash" and not shutil.which("bash"):
        raise Error("bashreadline: bash not found")

    def fmt(ev) -> Row:
        line = text(ev.line)
        return {"pid": ev.pid, "command": line}, f"{hms():<9} {ev.pid:<7} {line}"

    return stream("bashreadline", args, {}, f"{'TIME':<9} {'PID':<7} COMMAND", fmt, ready,
                  hook=lambda obj: obj.programs["readline_return"].attach(
                      binary=binary, symbol="readline", retprobe=True))


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
