#!/usr/bin/env python3
"""execsnoop: now the installed tool `ebpf tool execsnoop` (module ebpf.tools.execsnoop); this
script runs it, so `python examples/execsnoop/execsnoop.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/execsnoop.bpf.c (execsnoop.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.execsnoop import main

if __name__ == "__main__":
    run_main(main)
