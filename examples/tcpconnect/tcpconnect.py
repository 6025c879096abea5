#!/usr/bin/env python3
"""tcpconnect: now the installed tool `ebpf tool tcpconnect` (module ebpf.tools.tcpconnect); this
script runs it, so `python examples/tcpconnect/tcpconnect.py [options]` keeps working.
The BPF source is ebpf/tools/bpf/tcpconnect.bpf.c (tcpconnect.bpf.c here links to it)."""

from ebpf.tools.base import run_main
from ebpf.tools.tcpconnect import main

if __name__ == "__main__":
    run_main(main)
