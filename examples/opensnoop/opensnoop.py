#!/usr/bin/env python3
"""opensnoop: now the installed tool `ebpf tool opensnoop` (module ebpf.tools.opensnoop); this
script runs it, so `python examples/opensnoop/opensnoop.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/opensnoop.bpf.c (opensnoop.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.opensnoop import main

if __name__ == "__main__":
    run_main(main)
