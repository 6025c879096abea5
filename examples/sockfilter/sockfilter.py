#!/usr/bin/env python3
"""sockfilter: now the installed tool `ebpf tool sockfilter` (module ebpf.tools.sockfilter); this
script runs it, so `python examples/sockfilter/sockfilter.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/sockfilter.bpf.c (sockfilter.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.sockfilter import main

if __name__ == "__main__":
    run_main(main)
