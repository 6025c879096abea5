#!/usr/bin/env python3
"""mallocsize: now the installed tool `ebpf tool mallocsize` (module ebpf.tools.mallocsize); this
script runs it, so `python examples/mallocsize/mallocsize.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/mallocsize.bpf.c (mallocsize.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.mallocsize import main

if __name__ == "__main__":
    run_main(main)
