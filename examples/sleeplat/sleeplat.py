#!/usr/bin/env python3
"""sleeplat: now the installed tool `ebpf tool sleeplat` (module ebpf.tools.sleeplat); this
script runs it, so `python examples/sleeplat/sleeplat.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/sleeplat.bpf.c (sleeplat.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.sleeplat import main

if __name__ == "__main__":
    run_main(main)
