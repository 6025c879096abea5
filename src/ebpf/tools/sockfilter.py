"""sockfilter: a socket filter on a UDP socket. Counts datagrams per source port
and drops those from blocked source ports or with too short a payload, before
they reach the socket.

    ebpf tool sockfilter --port 9000 --duration 10
    ebpf tool sockfilter --send 20 --block-source 40001 --min-payload 4
"""

from __future__ import annotations

import socket
import sys
import time

from .base import Output, Ready, ToolParser, object_path

SENDER_PORTS = (40001, 40002, 40003)


def send_traffic(port: int, count: int) -> None:
    """``count`` datagrams to 127.0.0.1:port from each of a few source ports,
    every third one with a 1-byte payload."""
    for sport in SENDER_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tx.bind(("127.0.0.1", sport))
            for i in range(count):
                tx.sendto(b"x" if i % 3 == 2 else b"hello %d" % i, ("127.0.0.1", port))


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    import ebpf

    ap = ToolParser("sockfilter", "Socket filter on a UDP socket.")
    ap.add_argument("--port", type=int, default=0, help="UDP port to listen on (default: any)")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds to receive (default 2)")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--min-payload", type=int, default=0, help="drop shorter payloads")
    ap.add_argument("--block-source", default="", help="source ports to drop, comma-separated")
    ap.add_argument("--send", type=int, default=0, metavar="N",
                    help=f"send N datagrams from each of the ports {SENDER_PORTS} ourselves")
    args = ap.parse_args(argv)
    out = Output(args.json)
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("sockfilter: attaching to a socket needs the kernel backend", file=sys.stderr)
        return 1
    obj_path = object_path("sockfilter")
    with ebpf.load(obj_path, backend=backend,
                   constants={"min_payload": args.min_payload}) as obj, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for p in filter(None, args.block_source.split(",")):
            obj.maps["blocked_sources"][int(p)] = 1
        sock.bind(("127.0.0.1", args.port))
        port = sock.getsockname()[1]
        received: dict[int, int] = {}
        with obj.programs["udp_filter"].attach(sock=sock):
            out.note(f"sockfilter: listening on 127.0.0.1:{port}")
            if ready:
                ready()
            if args.send:
                send_traffic(port, args.send)
            deadline = time.monotonic() + args.duration
            try:
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(min(left, 0.2))
                    try:
                        _, (_, sport) = sock.recvfrom(65536)
                    except TimeoutError:
                        if args.send:
                            break  # our own traffic is all in
                        continue
                    received[sport] = received.get(sport, 0) + 1
            except KeyboardInterrupt:
                pass
        out.text(f"{'SPORT':>6} {'PACKETS':>8} {'BYTES':>8} {'DROPPED':>8} {'RECEIVED':>9}")
        for sport, st in sorted(obj.maps["by_source_port"].items()):
            got = received.get(sport, 0)
            out.row({"sport": sport, "packets": st.packets, "bytes": st.bytes,
                     "dropped": st.dropped, "received": got},
                    f"{sport:>6} {st.packets:>8} {st.bytes:>8} {st.dropped:>8} {got:>9}")
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
