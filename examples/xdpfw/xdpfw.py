#!/usr/bin/env python3
"""xdpfw: now the installed tool `ebpf tool xdpfw` (module ebpf.tools.xdpfw); this
script runs it, so `python examples/xdpfw/xdpfw.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/xdpfw.bpf.c (xdpfw.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.xdpfw import main

if __name__ == "__main__":
    run_main(main)
