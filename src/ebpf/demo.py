"""``make run``: the main job on a fresh machine, without arguments.

On the kernel (root, bpf(2) usable): execsnoop and syscount run for a few
seconds while this demo starts a few processes itself, then the XDP firewall
drops UDP to one port on ``lo`` while another port still receives.
Without the kernel: the XDP firewall runs in the in-process runtime over a
packet capture this module generates.

    python -m ebpf.demo [--backend kernel|vm] [--duration S]

It also holds small packet builders (``udp_frame``, ``tcp_frame``,
``firewall_traffic``) and pcap writing, used by the tools and tests.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

ETH_P_IP = 0x0800


# ---- packets -------------------------------------------------------------------
def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_packet(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64,
                ident: int = 1) -> bytes:
    """An IPv4 header (with a correct checksum) followed by ``payload``."""
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                       ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
    return head + payload


def ethernet(payload: bytes, ethertype: int = ETH_P_IP, src: bytes = b"\x02\0\0\0\0\x01",
             dst: bytes = b"\x02\0\0\0\0\x02") -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def udp_frame(dport: int, sport: int = 40000, payload: bytes = b"hello",
              src: str = "10.0.0.1", dst: str = "10.0.0.2") -> bytes:
    """An Ethernet/IPv4/UDP frame.

    >>> f = udp_frame(53)
    >>> len(f), f[12:14].hex(), int.from_bytes(f[36:38], "big")
    (47, '0800', 53)
    """
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ethernet(ipv4_packet(src, dst, 17, udp))


def tcp_frame(dport: int, sport: int = 40000, flags: int = 0x02, src: str = "10.0.0.1",
              dst: str = "10.0.0.2") -> bytes:
    """An Ethernet/IPv4/TCP frame (a SYN by default)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)
    return ethernet(ipv4_packet(src, dst, 6, tcp))


def firewall_traffic(seed: int = 0, count: int = 200,
                     ports: Iterable[int] = (22, 53, 80, 443, 8080)) -> list[bytes]:
    """Reproducible mixed traffic: UDP and TCP to a few ports, some ARP."""
    rng = random.Random(seed)
    ports = list(ports)
    out = []
    for _ in range(count):
        r = rng.random()
        if r < 0.05:
            out.append(ethernet(b"\0\x01\x08\0\x06\x04\0\x01" + bytes(20), ethertype=0x0806))
        elif r < 0.55:
            out.append(udp_frame(rng.choice(ports), 30000 + rng.randrange(1000),
                                 payload=bytes(rng.randrange(1, 64))))
        else:
            out.append(tcp_frame(rng.choice(ports), 30000 + rng.randrange(1000)))
    return out


def write_pcap(path: str | os.PathLike, frames: Iterable[bytes]) -> Path:
    """Write Ethernet frames as a classic pcap file."""
    from .vm.hooks import write_pcap as _write

    _write(Path(path), list(frames))
    return Path(path)


# ---- the tools -----------------------------------------------------------------
def load_example(tool: str) -> ModuleType:
    """The module of tool ``tool`` (``ebpf.tools.<tool>``; the former examples/
    front ends live in the package, so the demo works from an installed wheel)."""
    from .tools import load_tool

    return load_tool(tool)


def _activity(stop: threading.Event, delay: float = 0.6) -> None:
    """Start a few short processes and open a few files, until ``stop``."""
    import shutil

    commands = [[shutil.which(c[0]) or c[0], *c[1:]]  # full paths: no PATH search noise
                for c in (["sh", "-c", "true"], ["uname", "-r"], ["ls", "/"],
                          ["cat", "/proc/loadavg"], ["sleep", "0.01"])]
    i = 0
    time.sleep(delay)  # let the tools attach first
    while not stop.is_set():
        cmd = commands[i % len(commands)]
        try:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5)
        except (OSError, subprocess.SubprocessError) as e:
            log.debug("demo activity %s: %s", cmd, e)
        i += 1
        stop.wait(0.3)


def _banner(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)), flush=True)


def _free_port_pair() -> int:
    """A UDP port P on 127.0.0.1 such that P and P - 1 are both free."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port <= 1024:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                try:
                    b.bind(("127.0.0.1", port - 1))
                except OSError:
                    continue
            return port
    return 9999


def _step(title: str, tool: str, argv: list[str], failures: list[str]) -> None:
    """Run one tool; an ebpf error is reported and the demo goes on."""
    from .errors import Error

    _banner(title)
    try:
        code = load_example(tool).main(argv)
    except Error as e:
        code = 1
        print(f"{tool}: error: {e}", flush=True)
    if code:
        failures.append(tool)


def demo_kernel(duration: float) -> list[str]:
    """The kernel tour; returns the tools that failed."""
    failures: list[str] = []
    d = str(duration)
    stop = threading.Event()
    worker = threading.Thread(target=_activity, args=(stop,), daemon=True)
    worker.start()
    try:
        _step(f"execsnoop: exec() calls for {duration:g}s (the demo starts a few processes)",
              "execsnoop", ["--duration", d], failures)
        _step(f"syscount: top system calls, system-wide, for {duration:g}s",
              "syscount", ["--duration", d, "--top", "8"], failures)
        _step(f"sleeplat: clock_nanosleep() latency histogram for {duration:g}s",
              "sleeplat", ["--duration", d], failures)
    finally:
        stop.set()
        worker.join(timeout=10)
    port = _free_port_pair()
    _step(f"xdpfw: XDP on lo drops UDP to port {port}; port {port - 1} still receives",
          "xdpfw", ["--ifname", "lo", "--block", str(port), "--self-test", "--backend", "kernel"],
          failures)
    return failures


def demo_vm(duration: float) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ebpf-demo-") as tmp:
        pcap = write_pcap(Path(tmp) / "traffic.pcap", firewall_traffic(seed=7, count=400))
        _banner("xdpfw in the in-process runtime: 400 generated packets, ports 22 and 8080 "
                "blocked")
        load_example("xdpfw").main(["--pcap", str(pcap), "--block", "22,8080",
                                    "--backend", "vm"])


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit code."""
    from .backend import default_backend
    from .errors import Error

    p = argparse.ArgumentParser(prog="python -m ebpf.demo", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    p.add_argument("--duration", type=float, default=3.0, help="seconds per tracing tool")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    backend = args.backend or default_backend()
    why = "bpf(2) is usable" if backend == "kernel" else "no usable bpf(2) (not root?)"
    if args.backend:
        why = "as asked"
    print(f"ebpf demo: backend {backend} ({why})", flush=True)
    try:
        if backend == "kernel":
            failures = demo_kernel(args.duration)
            if len(failures) == 4:  # nothing worked on this kernel: show the runtime
                print("\nebpf demo: no tool ran on this kernel; the runtime instead",
                      flush=True)
                demo_vm(args.duration)
            elif failures:
                print(f"\nebpf demo: failed here: {', '.join(failures)}", flush=True)
        else:
            demo_vm(args.duration)
    except Error as e:
        print(f"ebpf demo: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print("\nebpf demo: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__: list[str] = ["ethernet", "firewall_traffic", "ipv4_packet", "load_example", "main",
                      "tcp_frame", "udp_frame", "write_pcap"]
