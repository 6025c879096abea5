"""xdpfw: an XDP firewall. Blocks TCP/UDP destination ports set from Python and
counts what passed and what was dropped, per port.

    ebpf tool xdpfw --ifname lo --block 9999 --duration 10
    ebpf tool xdpfw --write-pcap traffic.pcap   # sample traffic to try
    ebpf tool xdpfw --pcap traffic.pcap --block 22,8080 --backend vm   # any backend

On an interface the program runs on real traffic (the kernel); with --pcap it
runs over the frames of a capture file through test_run, on the kernel or in
the in-process runtime (--backend vm).
"""

from __future__ import annotations

import os
import socket
import sys
import time

from ..uapi.consts import XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX
from .base import Output, Ready, ToolParser, object_path

ACTIONS = {XDP_ABORTED: "XDP_ABORTED", XDP_DROP: "XDP_DROP", XDP_PASS: "XDP_PASS",
           XDP_TX: "XDP_TX", XDP_REDIRECT: "XDP_REDIRECT"}


def parse_ports(text: str) -> list[int]:
    ports = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        port = int(part)
        if not 0 < port < 65536:
            raise SystemExit(f"xdpfw: bad port {part}")
        ports.append(port)
    return ports


def self_test(blocked: int, open_port: int) -> tuple[int, int]:
    """Send 5 UDP datagrams to a blocked and to an open port on 127.0.0.1;
    returns how many each received."""
    got = []
    for port in (blocked, open_port):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", port))
        rx.settimeout(0.2)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for i in range(5):
                tx.sendto(b"ping %d" % i, ("127.0.0.1", port))
        n = 0
        try:
            while True:
                rx.recv(100)
                n += 1
        except TimeoutError:
            pass
        rx.close()
        got.append(n)
    return got[0], got[1]


def print_counters(obj, out: Output) -> None:
    rows = sorted(((port, sum(s.passed for s in st), sum(s.dropped for s in st))
                   for port, st in obj.maps["port_counters"].items()),
                  key=lambda r: (-(r[1] + r[2]), r[0]))
    out.text(f"{'PORT':>6} {'PASSED':>8} {'DROPPED':>8}")
    for port, passed, dropped in rows:
        out.row({"port": port, "passed": passed, "dropped": dropped},
                f"{port:>6} {passed:>8} {dropped:>8}")
    totals = {ACTIONS.get(a, a): sum(v) for a, v in obj.maps["action_counters"].items()
              if sum(v)}
    out.row({"total": totals},
            "total: " + (", ".join(f"{k} {v}" for k, v in totals.items()) or "no packets"))


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    import ebpf
    from ebpf.vm.hooks import read_pcap

    ap = ToolParser("xdpfw", "XDP firewall: drop TCP/UDP to blocked ports.")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--ifname", help="attach to this interface (kernel backend)")
    where.add_argument("--pcap", help="run over the packets of this capture (any backend)")
    where.add_argument("--write-pcap", metavar="FILE",
                       help="write a capture of sample TCP/UDP traffic (ports 22, 53, 80, "
                            "443, 8080) to FILE for --pcap, and exit")
    ap.add_argument("--block", default="", help="ports to drop, comma-separated")
    ap.add_argument("--duration", type=float, default=5.0,
                    help="seconds to stay attached with --ifname (default 5)")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--self-test", action="store_true",
                    help="with --ifname lo: send UDP to the first blocked port and to the "
                         "next one up, and report what arrived (instead of waiting)")
    args = ap.parse_args(argv)
    out = Output(args.json)
    if args.write_pcap:
        from ebpf.demo import firewall_traffic, write_pcap

        write_pcap(args.write_pcap, firewall_traffic(seed=1, count=400))
        out.note(f"xdpfw: wrote 400 packets to {args.write_pcap}")
        return 0
    if args.pcap and not os.path.isfile(args.pcap):
        print(f"xdpfw: error: {args.pcap}: no such file (--write-pcap {args.pcap} writes "
              "sample traffic)", file=sys.stderr)
        return 1
    backend = args.backend or ebpf.default_backend()
    blocked = parse_ports(args.block)
    if args.ifname and backend != "kernel":
        print("xdpfw: attaching to an interface needs the kernel backend; use --pcap FILE "
              "with --backend vm", file=sys.stderr)
        return 1
    if args.self_test and not (args.ifname == "lo" and blocked):
        print("xdpfw: --self-test needs --ifname lo and a --block port", file=sys.stderr)
        return 1
    with ebpf.load(object_path("xdpfw"), backend=backend) as obj:
        for port in blocked:
            obj.maps["blocked_ports"][port] = 1
        prog = obj.programs["xdp_firewall"]
        out.note(f"xdpfw [{backend}]: blocking {', '.join(map(str, blocked)) or 'nothing'}")
        if args.pcap:
            frames = [frame for _, frame in read_pcap(args.pcap)]
            for frame in frames:
                prog.test_run(frame)
            out.note(f"ran {len(frames)} packets of {args.pcap}")
        else:
            with prog.attach(ifname=args.ifname):
                if ready:
                    ready()
                if args.self_test:
                    try:
                        got_blocked, got_open = self_test(blocked[0], blocked[0] - 1)
                    except OSError as e:
                        print(f"xdpfw: self-test on ports {blocked[0]} and "
                              f"{blocked[0] - 1}: {e.strerror or e}", file=sys.stderr)
                        return 1
                    out.row({"blocked_port": blocked[0], "blocked_received": got_blocked,
                             "open_port": blocked[0] - 1, "open_received": got_open},
                            f"port {blocked[0]} (blocked) received {got_blocked} of 5; "
                            f"port {blocked[0] - 1} received {got_open} of 5")
                else:
                    try:
                        time.sleep(args.duration)
                    except KeyboardInterrupt:
                        pass
        print_counters(obj, out)
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
