"""Hooks that feed events to runtime programs, no kernel needed.

* packets: ``prog.attach(pcap="trace.pcap")`` runs the program on every packet of
  a capture file; ``prog.attach(packets=iterable_of_bytes)`` on given frames;
* timers: ``prog.attach(interval=0.01)`` runs a sampling-style program every
  10 ms on a background thread (with a ``bpf_perf_event_data`` context);
* events: ``prog.attach()`` registers the program for the event its section names
  (``tracepoint/syscalls/sys_enter_execve``...); Python code raises the event with
  :func:`fire`.

Each returns a :class:`VMLink`; closing it stops the feed. Packet feeds run
synchronously inside ``attach`` by default (``background=True`` for a thread);
results are on ``link.results`` (return values) and ``link.outputs`` (packets).

The pcap reader/writer handles the classic libpcap format (any byte order,
micro- or nanosecond timestamps).

>>> import io
>>> from ebpf.vm.hooks import write_pcap, read_pcap
>>> f = io.BytesIO(); write_pcap(f, [b"\\x01" * 20, b"\\x02" * 30]); _ = f.seek(0)
>>> [len(p) for _, p in read_pcap(f)]
[20, 30]
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import AttachError, Error, SystemCallError
from ..links import Link

log = logging.getLogger("ebpf.vm")

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1


def read_pcap(source: str | Path | BinaryIO) -> Iterator[tuple[float, bytes]]:
    """(timestamp, frame) pairs of a classic pcap file."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            yield from read_pcap(f)
        return
    head = source.read(24)
    if len(head) < 24:
        raise Error("pcap: file shorter than its 24-byte header")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", head[:4])[0]
        if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            break
    else:
        raise Error(f"pcap: bad magic {head[:4].hex()} (pcapng is not supported)")
    scale = 1e-9 if magic == PCAP_MAGIC_NS else 1e-6
    _, _, _, _, _, linktype = struct.unpack(endian + "HHiIII", head[4:24])
    if linktype != LINKTYPE_ETHERNET:
        raise Error(f"pcap: link type {linktype} is not Ethernet (1)")
    index = 0
    while True:
        rec = source.read(16)
        if not rec:
            return
        if len(rec) < 16:
            raise Error(f"pcap: record {index} header truncated")
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", rec)
        data = source.read(incl)
        if len(data) < incl:
            raise Error(f"pcap: record {index} truncated ({len(data)} of {incl} bytes)")
        yield sec + frac * scale, data
        index += 1


def write_pcap(dest: str | Path | BinaryIO, packets: Iterable[bytes | tuple[float, bytes]],
               snaplen: int = 65535) -> None:
    """Write frames (or (timestamp, frame) pairs) as a classic microsecond pcap."""
    if isinstance(dest, (str, Path)):
        with open(dest, "wb") as f:
            write_pcap(f, packets, snaplen)
        return
    dest.write(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
    now = time.time()
    for item in packets:
        ts, frame = item if isinstance(item, tuple) else (now, item)
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        dest.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        dest.write(frame)


class VMLink(Link):
    """An attachment of a runtime program to a hook."""

    backend = "vm"

    def __init__(self, program, description: str):
        super().__init__(program, description)
        self.results: list[int] = []
        self.outputs: list[bytes] = []
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._event: str | None = None

    def _start(self, target) -> None:
        self._thread = threading.Thread(target=self._guard, args=(target,), daemon=True,
                                        name=f"ebpf-vm-{self.description}")
        self._thread.start()

    def _guard(self, target) -> None:
        try:
            target()
        except Exception as e:  # noqa: BLE001 - reported on the link, never lost
            log.error("%s: %s", self.description, e)
            self.errors.append(e)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background feed to finish; True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        if self._closed:
            return
        self._stop.set()
        if self._event is not None:
            with _EVENTS_LOCK:
                lst = _EVENTS.get(self._event, [])
                if self in lst:
                    lst.remove(self)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        super().close()


_EVENTS: dict[str, list[VMLink]] = defaultdict(list)
_EVENTS_LOCK = threading.Lock()


def _run_packets(link: VMLink, frames: Iterable[bytes], cpu: int = 0) -> None:
    prog = link.program
    for frame in frames:
        if link._stop.is_set():
            break
        try:
            r = prog.test_run(frame, cpu=cpu)
        except SystemCallError as e:  # a frame no kernel would deliver (truncated): skip
            log.warning("program %s: frame of %d bytes skipped: %s", prog.name, len(frame), e)
            continue
        link.results.append(r.retval)
        link.outputs.append(r.data)


def _event_name(prog) -> str:
    spec = prog.spec
    if spec.attach_to:
        kind = spec.attach_kind or spec.section.split("/", 1)[0]
        return f"{kind}/{spec.attach_to}"
    return spec.section


def attach(prog, *, pcap: str | Path | None = None, packets: Iterable[bytes] | None = None,
           interval: float | None = None, event: str | None = None, background: bool = False,
           cpu: int = 0, ctx: bytes | None = None, **target: Any) -> VMLink:
    """Attach a runtime program to a hook (see the module documentation)."""
    if target:
        raise AttachError(f"program {prog.name}: the vm backend cannot attach to "
                          f"{', '.join(f'{k}={v!r}' for k, v in target.items())}; use pcap=, "
                          "packets=, interval= or event=")
    if pcap is not None or packets is not None:
        frames = (p for _, p in read_pcap(pcap)) if pcap is not None else iter(packets or ())
        link = VMLink(prog, f"pcap {pcap}" if pcap is not None else "packets")
        if background:
            link._start(lambda: _run_packets(link, frames, cpu))
        else:
            _run_packets(link, frames, cpu)
        return link
    if interval is not None:
        if interval <= 0:
            raise AttachError(f"program {prog.name}: interval must be positive")
        link = VMLink(prog, f"every {interval}s")
        payload = ctx

        def tick() -> None:
            nxt = time.monotonic()
            while not link._stop.is_set():
                link.results.append(prog.run(payload, cpu=cpu))
                nxt += interval
                link._stop.wait(max(0.0, nxt - time.monotonic()))
        link._start(tick)
        return link
    name = event or _event_name(prog)
    if not name:
        raise AttachError(f"program {prog.name}: section {prog.section!r} names no event; "
                          "pass event=, pcap=, packets= or interval=")
    link = VMLink(prog, name)
    link._event = name
    with _EVENTS_LOCK:
        _EVENTS[name].append(link)
    return link


def fire(event: str, ctx: bytes | list[int] | None = None) -> list[int]:
    """Run every program attached to ``event`` (e.g.
    ``"tracepoint/syscalls/sys_enter_execve"``) with context ``ctx`` (bytes, or
    a list of u64 arguments); returns their return values."""
    with _EVENTS_LOCK:
        links = list(_EVENTS.get(event, ()))
    out = []
    for link in links:
        r0 = link.program.run(ctx)
        link.results.append(r0)
        out.append(r0)
    return out


def attached(event: str) -> int:
    """How many programs are attached to ``event``."""
    with _EVENTS_LOCK:
        return len(_EVENTS.get(event, ()))
