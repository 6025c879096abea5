#!/usr/bin/env python3
"""Time to first event: from starting a tracer to its first line about an exec we
make, for ``ebpf run`` of the execsnoop example (C source: cold, with an empty
compile cache, and warm), ``ebpf tool execsnoop`` (warm) and bpftrace's
``execsnoop.bt`` (Debian's bpftrace package), all in one run.

While a tracer starts, the script execs a uniquely named copy of ``true`` every
5 ms; the clock stops when the tracer prints a line naming it. Each tracer runs
``--runs`` times, in interleaved rounds (best and median reported). Goals (#17): warm ``ebpf`` starts no
slower than bpftrace's, cold ones within 2x.

The package's bytecode is compiled first (``compileall``), as installing a wheel
does: an editable install run with ``PYTHONDONTWRITEBYTECODE`` set would otherwise
compile every module from source at every start (~60 ms), which no installed
``ebpf`` does.

    python benchmarks/startup.py [--runs N] [--json]

Needs root (bpf(2)).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXECSNOOP_BT = "/usr/sbin/execsnoop.bt"


def first_event(cmd: list[str], marker: Path, env: dict[str, str], timeout: float = 60.0
                ) -> float | None:
    """Seconds from starting ``cmd`` until it prints a line naming ``marker``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            text=True, bufsize=1)
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    name = marker.name
    buf = ""
    try:
        while time.perf_counter() - t0 < timeout:
            subprocess.run([str(marker)], check=False)
            try:
                chunk = proc.stdout.read()
            except (BlockingIOError, TypeError):
                chunk = None
            if chunk:
                buf += chunk
                if name in buf:
                    return time.perf_counter() - t0
            if proc.poll() is not None:
                return None
            time.sleep(0.005)
        return None
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def compile_bytecode() -> None:
    """The package's ``__pycache__`` filled, as a wheel install leaves it."""
    import compileall

    import ebpf

    compileall.compile_dir(str(Path(ebpf.__file__).parent), quiet=2)


def measure(runs: int) -> dict[str, dict[str, float | None]]:
    compile_bytecode()
    ebpf = str(Path(sys.executable).with_name("ebpf"))
    src = str(ROOT / "examples" / "execsnoop" / "execsnoop.bpf.c")
    with tempfile.TemporaryDirectory(prefix="ebpf-startup-") as tmp:
        marker = Path(tmp) / f"ttfe{os.getpid()}"
        shutil.copy("/bin/true", marker)
        warm_env = dict(os.environ)
        cold_cache = Path(tmp) / "cold"
        tracers: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "ebpf run (cold compile cache)": ([ebpf, "run", src, "--plain"], None),
            "ebpf run (warm)": ([ebpf, "run", src, "--plain"], warm_env),
            "ebpf tool execsnoop (warm)": ([ebpf, "tool", "execsnoop"], warm_env),
        }
        if shutil.which("bpftrace") and os.path.exists(EXECSNOOP_BT):
            tracers["bpftrace execsnoop.bt"] = (["bpftrace", EXECSNOOP_BT], warm_env)
        # fill the warm caches (compile cache, vmlinux.h, tool objects) once
        first_event(tracers["ebpf run (warm)"][0], marker, warm_env)
        first_event(tracers["ebpf tool execsnoop (warm)"][0], marker, warm_env)
        # rounds interleave the tracers, so a load that comes and goes on the machine
        # falls on each of them alike
        times: dict[str, list[float]] = {label: [] for label in tracers}
        for i in range(runs):
            for label, (cmd, env) in tracers.items():
                if env is None:  # cold: a compile cache of its own, empty every run
                    run_env = dict(os.environ)
                    objects = cold_cache / str(i)
                    run_env["EBPF_COMPILE_CACHE"] = "1"
                    run_env["XDG_CACHE_HOME"] = str(objects)
                    # keep the generated vmlinux.h: "cold" is about compiling, not BTF
                    btf = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                    (objects / "ebpf").mkdir(parents=True, exist_ok=True)
                    if (btf / "ebpf" / "btf").is_dir():
                        os.symlink(btf / "ebpf" / "btf", objects / "ebpf" / "btf")
                else:
                    run_env = env
                t = first_event(cmd, marker, run_env)
                if t is not None:
                    times[label].append(t)
        out: dict[str, dict[str, float | None]] = {}
        for label, ts in times.items():
            out[label] = {"best": min(ts) if ts else None,
                          "median": statistics.median(ts) if ts else None,
                          "runs": float(len(ts))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("startup: needs root for bpf(2)", file=sys.stderr)
        return 1
    res = measure(args.runs)
    bt = res.get("bpftrace execsnoop.bt", {}).get("median")
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print("time to first event (s): best / median of the runs; ratio = median / bpftrace's")
    for label, r in res.items():
        best, med = r["best"], r["median"]
        if med is None:
            print(f"  {label:<32} no event seen")
            continue
        ratio = f"{med / bt:5.2f}x" if bt else "   - "
        print(f"  {label:<32} {best:6.3f} / {med:6.3f}   {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
