#!/usr/bin/env python3
"""syscount: now the installed tool `ebpf tool syscount` (module ebpf.tools.syscount); this
script runs it, so `python examples/syscount/syscount.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/syscount.bpf.c (syscount.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.syscount import main

if __name__ == "__main__":
    run_main(main)
