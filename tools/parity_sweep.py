#!/usr/bin/env python3
"""Runtime parity sweep: does the vm load and run what the kernel loads?

Give it directories of public eBPF C sources (libbpf-tools, libbpf-bootstrap,
xdp-tutorial...: fetched by hand, never committed). For every ``*.bpf.c`` /
``*_kern.c`` and every other ``.c`` placing code in ``SEC("...")`` it:

1. compiles the source with our toolchain (its own directory, ``--include`` dirs
   and the generated ``vmlinux.h`` on the include path);
2. loads each program into the kernel, alone (``programs=[name]``);
3. loads each program the kernel accepted into the vm the same way;
4. for packet programs (XDP, tc, socket filters, cgroup skb) both loaded, runs
   both on random and crafted packets with BPF_PROG_TEST_RUN semantics and
   compares return value, output packet and the records each run wrote to ring
   buffers; after the runs, the contents of the data maps (hash, array, LRU, LPM,
   queue/stack; per-CPU values summed over the CPUs, since the kernel runs a test on
   whichever CPU it is on).

It prints one line per program the vm refuses or runs differently, and the totals:
the vm's share of the programs the kernel loads (#18's goal: >= 99 %). Needs root.

    python tools/parity_sweep.py DIR [DIR ...] [--include DIR ...] [--cflag ARG ...] [--json FILE]
        [--packets N] [--only SUBSTRING] [--skip SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import struct
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PACKET_TYPES = {"XDP", "SCHED_CLS", "SCHED_ACT", "SOCKET_FILTER", "CGROUP_SKB"}


@dataclass
class ProgramResult:
    source: str
    program: str
    type: str
    kernel: str = ""          # "ok" or the kernel's error
    vm: str = ""              # "ok", the vm's error, or "" when not tried
    runs: int = 0             # packets compared
    mismatches: list[str] = field(default_factory=list)
    # differences wholly made of clock readings (bpf_ktime_get_ns & co. written into the
    # packet, a map or a record): both sides ran right, at different times
    clock_only: list[str] = field(default_factory=list)
    # arrays too large to read whole after every program (katran's 33M-entry rings)
    uncompared: list[str] = field(default_factory=list)


_CLOCKS = (time.CLOCK_MONOTONIC, time.CLOCK_BOOTTIME)
_SWEEP_START = {c: time.clock_gettime_ns(c) for c in _CLOCKS}


def only_clock_values(a: bytes, b: bytes) -> bool:
    """Do ``a`` and ``b`` differ only in 64-bit words that both read as a clock value
    of this sweep's time, give or take an hour (monotonic or boot time, little- or
    big-endian)?"""
    if len(a) != len(b) or a == b:
        return False
    # an hour either side: programs store deadlines (now + a lifetime) and ages too;
    # never below a second after boot (on a machine up for less than an hour, small
    # counts would otherwise read as clock values)
    spans = [(max(_SWEEP_START[c] - 3600 * 10**9, 10**9),
              time.clock_gettime_ns(c) + 3600 * 10**9) for c in _CLOCKS]

    def is_clock(word: bytes, order: str) -> bool:
        x = int.from_bytes(word, order)  # type: ignore[arg-type]
        return any(lo <= x <= hi for lo, hi in spans)

    explained: set[int] = set()
    for i in range(len(a)):
        if a[i] == b[i] or i in explained:
            continue
        for start in range(max(0, i - 7), min(i, len(a) - 8) + 1):
            wa, wb = a[start:start + 8], b[start:start + 8]
            if any(is_clock(wa, o) and is_clock(wb, o) for o in ("little", "big")):
                explained.update(range(start, start + 8))
                break
        else:
            return False
    return True


def _has_sections(p: Path) -> bool:
    """A plain ``.c`` file is a BPF source when it places code in ``SEC("...")``
    (or iproute2's ``__section("...")``)."""
    try:
        text = p.read_text(errors="replace")
        return 'SEC("' in text or '__section("' in text
    except OSError:
        return False


def sources(dirs: list[Path], only: str | None, skip: list[str] | None = None) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        for p in sorted(d.rglob("*.c")):
            if not (p.name.endswith(".bpf.c") or p.name.endswith("_kern.c")
                    or _has_sections(p)):
                continue
            if (only and only not in str(p)) or any(x in str(p) for x in skip or ()):
                continue
            out.append(p)
    return out


def _csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def crafted_packets(rng: random.Random) -> list[bytes]:
    """Ethernet frames real programs parse: IPv4/IPv6 with TCP/UDP/ICMP, VLAN, ARP;
    IPv4 options and fragments, TCP options, IPv6 extension headers, QinQ, IPIP,
    GRE and VXLAN encapsulation, ICMP errors, full-size frames."""
    def eth(proto: int) -> bytes:
        return bytes(rng.getrandbits(8) for _ in range(12)) + struct.pack("!H", proto)

    def ipv4(proto: int, payload: bytes) -> bytes:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), rng.getrandbits(16),
                          0, 64, proto, 0, os.urandom(4), os.urandom(4))
        hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
        return hdr + payload

    def ipv6(nh: int, payload: bytes) -> bytes:
        return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64, os.urandom(16),
                           os.urandom(16)) + payload

    def tcp() -> bytes:
        return struct.pack("!HHIIBBHHH", rng.choice([22, 80, 443, 8080, rng.getrandbits(16)]),
                           rng.choice([22, 80, 443, rng.getrandbits(16)]), rng.getrandbits(32),
                           rng.getrandbits(32), 0x50, rng.choice([0x02, 0x10, 0x12, 0x11, 0x04]),
                           65535, 0, 0) + os.urandom(rng.randrange(0, 64))

    def udp() -> bytes:
        body = os.urandom(rng.randrange(0, 64))
        return struct.pack("!HHHH", rng.getrandbits(16), rng.choice([53, 123, 4789, 8472]),
                           8 + len(body), 0) + body

    def icmp() -> bytes:
        return struct.pack("!BBHHH", rng.choice([0, 8]), 0, 0, rng.getrandbits(16), 1) \
            + os.urandom(32)

    out = [
        eth(0x0800) + ipv4(6, tcp()),
        eth(0x0800) + ipv4(17, udp()),
        eth(0x0800) + ipv4(1, icmp()),
        eth(0x86DD) + ipv6(6, tcp()),
        eth(0x86DD) + ipv6(17, udp()),
        eth(0x86DD) + ipv6(58, icmp()),
        eth(0x8100) + struct.pack("!HH", rng.getrandbits(12), 0x0800) + ipv4(6, tcp()),
        eth(0x0806) + os.urandom(28),
    ]
    # the less common shapes parsers branch on
    opts = bytes([1, 1, 7, 7]) + os.urandom(4)                 # NOPs, record route
    v4opt = struct.pack("!BBHHHBBH4s4s", 0x47, 0, 28 + 28, 1, 0, 64, 17, 0, os.urandom(4),
                        os.urandom(4)) + opts
    frag = ipv4(17, udp())
    frag = frag[:6] + struct.pack("!H", rng.choice([0x2000, 0x2010, 0x0010])) + frag[8:]
    tcpopt = struct.pack("!HHIIBBHHH", 443, rng.getrandbits(16), 1, 0, 0x80, 0x02, 65535, 0,
                         0) + bytes([2, 4, 5, 0xB4, 4, 2, 8, 10]) + os.urandom(8) + bytes(4)
    hbh = bytes([6, 0, 1, 4, 0, 0, 0, 0])                       # hop-by-hop, then TCP
    inner = eth(0x0800) + ipv4(6, tcp())
    out += [
        eth(0x0800) + v4opt + udp()[:8] + os.urandom(20),
        eth(0x0800) + frag,
        eth(0x0800) + ipv4(6, tcpopt),
        eth(0x86DD) + ipv6(0, hbh + tcp()),
        eth(0x88A8) + struct.pack("!HHHH", 1, 0x8100, 2, 0x86DD) + ipv6(17, udp()),
        eth(0x0800) + ipv4(4, ipv4(6, tcp())),                  # IPIP
        eth(0x0800) + ipv4(47, struct.pack("!HH", 0, 0x6558) + inner),   # GRE, Ethernet
        eth(0x0800) + ipv4(17, struct.pack("!HHHH", rng.getrandbits(16), 4789, 16 + len(inner),
                                           0) + bytes([8, 0, 0, 0, 0, 0, 1, 0]) + inner),
        eth(0x0800) + ipv4(1, struct.pack("!BBHI", 3, 4, 0, 1400) + ipv4(6, tcp())[:28]),
        eth(0x0800) + ipv4(6, tcp() + os.urandom(1400)),       # a full-size frame
        eth(0x86DD) + ipv6(58, struct.pack("!BBHI", 135, 0, 0, 0) + os.urandom(16)),
    ]
    return out


def random_packets(rng: random.Random, n: int) -> list[bytes]:
    pk = crafted_packets(rng)
    while len(pk) < n:
        base = rng.choice(crafted_packets(rng))
        cut = rng.randrange(14, len(base) + 1)  # truncated headers too
        pk.append(base[:cut] if rng.random() < 0.3 else base)
        if rng.random() < 0.2:
            pk.append(os.urandom(rng.randrange(14, 200)))
    return pk[:n]


# maps whose contents are data the program wrote (not fds, devices or sockets)
DATA_MAPS = {"HASH", "ARRAY", "PERCPU_HASH", "PERCPU_ARRAY", "LRU_HASH", "LRU_PERCPU_HASH",
             "LPM_TRIE", "QUEUE", "STACK", "BLOOM_FILTER"}


def _lanes(chunk: bytes) -> tuple[int, int]:
    """Width and count of the integer lanes a per-CPU value is summed by."""
    for width in (8, 4, 2, 1):
        if len(chunk) % width == 0:
            return width, len(chunk) // width
    return 1, len(chunk)  # pragma: no cover


def _percpu_total(raw: bytes, ncpus: int, value_size: int) -> bytes:
    """A per-CPU value summed lane by lane over the CPUs: test runs land on whichever
    CPU the kernel ran them on, the vm's on CPU 0, so only the totals compare."""
    stride = (value_size + 7) & ~7
    width, count = _lanes(bytes(value_size))
    total = [0] * count
    for cpu in range(ncpus):
        chunk = raw[cpu * stride:cpu * stride + value_size]
        for i in range(count):
            total[i] += int.from_bytes(chunk[i * width:(i + 1) * width], "little")
    mask = (1 << (8 * width)) - 1
    return b"".join((t & mask).to_bytes(width, "little") for t in total)


#: larger arrays are left out of the map comparison (listed as uncompared): reading
#: tens of millions of elements on both sides after each program would take hours
MAX_ARRAY_COMPARED = 1 << 20


def map_contents(m) -> dict[bytes, bytes] | None:
    """Every key and its value (per-CPU values summed), or None for maps holding
    no program data. Queue/stack maps are drained (compared once, after the runs)."""
    kind = m.type.name
    if kind not in DATA_MAPS:
        return None
    out: dict[bytes, bytes] = {}
    if kind in ("QUEUE", "STACK"):
        i = 0
        while (v := m.pop_bytes()) is not None:
            out[i.to_bytes(4, "little")] = v
            i += 1
        return out
    if kind == "BLOOM_FILTER":
        return None  # no keys to list; its lookups are part of the program's runs
    for key in list(m.raw_keys()):
        v = m.lookup_bytes(key)
        if v is None:
            continue
        if m.per_cpu:
            v = _percpu_total(v, m.num_cpus, m.value_size)
        out[key] = v
    return out


def compare_maps(kobj, vobj, res: ProgramResult) -> None:
    """The maps after the runs: every data map of the object, key by key."""
    import ebpf

    for name, km in kobj.maps.items():
        vm_map = vobj.maps.get(name)
        if vm_map is None:
            continue
        if "ARRAY" in km.type.name and km.max_entries > MAX_ARRAY_COMPARED:
            res.uncompared.append(f"{name} ({km.max_entries} entries)")
            continue
        try:
            kc, vc = map_contents(km), map_contents(vm_map)
        except ebpf.Error as e:
            res.mismatches.append(f"map {name}: could not be read: {e}")
            continue
        if kc is None or vc is None or kc == vc:
            continue
        only_k = sorted(set(kc) - set(vc))
        only_v = sorted(set(vc) - set(kc))
        diff = sorted(k for k in set(kc) & set(vc) if kc[k] != vc[k])
        if not only_k and not only_v and all(only_clock_values(kc[k], vc[k]) for k in diff):
            res.clock_only.append(f"map {name}: {len(diff)} values differ in clock readings")
            continue
        parts = []
        if only_k:
            parts.append(f"{len(only_k)} keys only in the kernel's (e.g. {only_k[0].hex()})")
        if only_v:
            parts.append(f"{len(only_v)} keys only in the vm's (e.g. {only_v[0].hex()})")
        if diff:
            k = diff[0]
            parts.append(f"{len(diff)} values differ (key {k.hex()}: kernel {kc[k].hex()[:48]},"
                         f" vm {vc[k].hex()[:48]})")
        res.mismatches.append(f"map {name} ({km.type.name}): " + "; ".join(parts))


def _ring_readers(obj) -> dict[str, object]:
    import ebpf

    out: dict[str, object] = {}
    for name, m in obj.maps.items():
        if m.type.name == "RINGBUF":
            out[name] = ebpf.RingBuffer(m)
    return out


def compare_runs(kobj, vobj, name: str, packets: list[bytes], res: ProgramResult) -> None:
    """Run both on every packet: return value, output packet and the ring buffer records
    each run wrote; then the maps."""
    import ebpf

    kprog, vprog = kobj.programs[name], vobj.programs[name]
    krings, vrings = _ring_readers(kobj), _ring_readers(vobj)
    try:
        for i, pkt in enumerate(packets):
            if len(res.mismatches) >= 5:
                break
            try:
                k = kprog.test_run(pkt)
            except ebpf.Error as e:
                k = None
                kerr = type(e).__name__
            try:
                v = vprog.test_run(pkt)
            except ebpf.Error as e:
                v = None
                verr = type(e).__name__
            res.runs += 1
            if k is None or v is None:
                if (k is None) != (v is None):
                    res.mismatches.append(
                        f"packet {i}: kernel {kerr if k is None else k.retval}, "
                        f"vm {verr if v is None else v.retval}")
                continue
            if k.retval != v.retval:
                res.mismatches.append(f"packet {i} ({len(pkt)} bytes): return value differs: "
                                      f"kernel {k.retval}, vm {v.retval}")
            elif bytes(k.data) != bytes(v.data):
                kd, vd = bytes(k.data), bytes(v.data)
                if only_clock_values(kd, vd):
                    res.clock_only.append(f"packet {i}: output packet differs in clock readings")
                else:
                    at = next((j for j, (a, b) in enumerate(zip(kd, vd, strict=False))
                               if a != b), min(len(kd), len(vd)))
                    res.mismatches.append(
                        f"packet {i} ({len(pkt)} bytes, return value {k.retval}): output "
                        f"packet differs: kernel {len(kd)} bytes, vm {len(vd)}, first at offset "
                        f"{at} (kernel {kd[at:at + 8].hex()}, vm {vd[at:at + 8].hex()})")
            for rname, krb in krings.items():
                if rname not in vrings:
                    continue
                krec, vrec = krb.read(), vrings[rname].read()  # type: ignore[attr-defined]
                if len(krec) == len(vrec) and all(
                        a == b or only_clock_values(a, b) for a, b in zip(krec, vrec, strict=True)):
                    if krec != vrec:
                        res.clock_only.append(f"packet {i}: ring buffer {rname} records differ "
                                              "in clock readings")
                elif krec != vrec:
                    res.mismatches.append(
                        f"packet {i}: ring buffer {rname}: kernel {len(krec)} records, vm "
                        f"{len(vrec)}" + (f" (first differs: kernel {krec[0].hex()[:48]}, vm "
                                          f"{vrec[0].hex()[:48]})" if krec and vrec else ""))
        compare_maps(kobj, vobj, res)
    finally:
        for rb in (*krings.values(), *vrings.values()):
            rb.close()  # type: ignore[attr-defined]


def sweep_source(src: Path, includes: list[Path], tmp: Path, packets: int,
                 rng: random.Random, cflags: list[str] | None = None,
                 ) -> tuple[list[ProgramResult], str | None]:
    import ebpf

    obj = tmp / (src.name + ".o")
    try:
        ebpf.compile(src, obj, include_dirs=[src.parent, *includes], cache=True,
                     extra_args=cflags or ())
    except ebpf.Error as e:
        lines = str(e).splitlines()
        why = next((ln for ln in lines if "error:" in ln), lines[0])
        return [], f"compile: {why[:240]}"
    try:
        spec = ebpf.ObjectSpec.from_file(obj)
    except ebpf.Error as e:
        return [], f"parse: {e}"
    # sizes a tool's user space sets before loading (one entry per CPU, as xdp-tools'
    # per-CPU counters): the same on both backends
    for ms in spec.maps.values():
        if ms.max_entries == 0 and ms.type.name in DATA_MAPS:
            ms.max_entries = os.cpu_count() or 1
    # every load gets its own maps: pinned ones would carry one program's runs into the
    # next program's (and the kernel's into /sys/fs/bpf)
    unpinned = {m: ebpf.PinType.NONE for m in spec.maps}
    out: list[ProgramResult] = []
    for name, ps in spec.programs.items():
        res = ProgramResult(str(src), name, ps.type.name if ps.type is not None else "?")
        try:
            kobj = ebpf.load(spec, backend="kernel", programs=[name], pinning=unpinned)
        except ebpf.Error as e:
            res.kernel = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
            out.append(res)
            continue
        with kobj:
            res.kernel = "ok"
            try:
                vobj = ebpf.load(spec, backend="vm", programs=[name], pinning=unpinned)
            except ebpf.Error as e:
                res.vm = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                out.append(res)
                continue
            with vobj:
                res.vm = "ok"
                if res.type in PACKET_TYPES and packets:
                    compare_runs(kobj, vobj, name, random_packets(rng, packets), res)
        out.append(res)
    return out, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--include", action="append", type=Path, default=[],
                    help="extra include directory (repeatable)")
    ap.add_argument("--cflag", action="append", default=[],
                    help="extra compiler argument (repeatable), e.g. --cflag=-include "
                         "--cflag=stdbool.h")
    ap.add_argument("--packets", type=int, default=96, help="packets per packet program")
    ap.add_argument("--only", help="only sources whose path contains this")
    ap.add_argument("--skip", action="append", default=[],
                    help="leave out sources whose path contains this (repeatable)")
    ap.add_argument("--json", type=Path, help="write every result here")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("parity_sweep: needs root (the kernel is the reference)", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.ERROR)
    rng = random.Random(args.seed)
    # the kernel test-runs on the CPU the caller is on, the vm on CPU 0: stay on CPU 0
    # so bpf_get_smp_processor_id and per-CPU slots agree
    os.sched_setaffinity(0, {0})
    results: list[ProgramResult] = []
    failed_sources: dict[str, str] = {}
    t0 = time.time()

    def write_json() -> None:
        if args.json:
            args.json.write_text(json.dumps({"programs": [asdict(r) for r in results],
                                             "sources_failed": failed_sources}, indent=1))

    with tempfile.TemporaryDirectory(prefix="parity-sweep-") as tmp:
        for src in sources(args.dirs, args.only, args.skip):
            res, err = sweep_source(src, args.include, Path(tmp), args.packets, rng,
                                    args.cflag)
            if err:
                failed_sources[str(src)] = err
            results.extend(res)
            write_json()  # after every source: a long sweep can be read while it runs
            for r in res:
                if r.kernel == "ok" and (r.vm != "ok" or r.mismatches):
                    why = r.vm if r.vm != "ok" else "; ".join(r.mismatches[:2])
                    print(f"{src.name}:{r.program} ({r.type}): {why}", flush=True)
    kernel_ok = [r for r in results if r.kernel == "ok"]
    vm_ok = [r for r in kernel_ok if r.vm == "ok"]
    ran = [r for r in vm_ok if r.runs]
    same = [r for r in ran if not r.mismatches]
    clocks = [r for r in same if r.clock_only]
    for r in ran:
        if r.uncompared:
            print(f"{r.source}:{r.program}: maps not compared: {', '.join(r.uncompared)}")
    print(f"\nsources: {len(sources(args.dirs, args.only, args.skip))} ({len(failed_sources)} did not "
          f"compile or parse); programs: {len(results)}; the kernel loads {len(kernel_ok)}")
    if kernel_ok:
        print(f"the vm loads {len(vm_ok)} of them: {100 * len(vm_ok) / len(kernel_ok):.1f} % "
              "(goal >= 99 %)")
    print(f"packet programs run on both: {len(ran)}; identical on every packet: {len(same)} "
          f"(of which {len(clocks)} differ only in the clock readings they store)")
    print(f"({time.time() - t0:.0f} s)")
    write_json()
    return 0


if __name__ == "__main__":
    sys.exit(main())
