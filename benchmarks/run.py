#!/usr/bin/env python3
"""`make bench`: run every benchmarks/*.py script that defines ``main()`` and
print its report, then a summary. Each script runs in its own process (a crash
or a hang in one does not stop the others).

    python benchmarks/run.py [--only NAME ...] [--timeout SECONDS] [--list]
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Runs a script's main() with argv = [script] and exits with what it returns.
RUNNER = (
    "import runpy, sys\n"
    "sys.argv = [sys.argv[1]]\n"
    "ns = runpy.run_path(sys.argv[0], run_name='__bench__')\n"
    "rc = ns['main']()\n"
    "sys.exit(rc if isinstance(rc, int) else 0)\n"
)


def discover(directory: Path = HERE) -> list[Path]:
    """Scripts in ``directory`` with a top-level ``def main``, by name."""
    found = []
    for path in sorted(directory.glob("*.py")):
        if path.name == Path(__file__).name or path.name.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_text(), str(path))
        except (SyntaxError, OSError, UnicodeDecodeError) as e:
            print(f"benchmarks: skipping {path.name}: {e}", file=sys.stderr)
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            found.append(path)
    return found


def run_one(path: Path, timeout: float) -> tuple[int | None, float]:
    """(exit code or None on timeout, seconds)."""
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, "-c", RUNNER, str(path)], timeout=timeout,
                           cwd=HERE.parent)
        rc: int | None = r.returncode
    except subprocess.TimeoutExpired:
        rc = None
    return rc, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None, metavar="NAME",
                    help="run only these scripts (file names, with or without .py)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per script")
    ap.add_argument("--list", action="store_true", help="list the scripts and stop")
    args = ap.parse_args(argv)
    scripts = discover()
    if args.only:
        want = {n.removesuffix(".py") for n in args.only}
        scripts = [s for s in scripts if s.stem in want]
    if args.list:
        for s in scripts:
            print(s.name)
        return 0
    results = []
    for s in scripts:
        print(f"\n=== {s.stem} ===", flush=True)
        rc, secs = run_one(s, args.timeout)
        results.append((s.stem, rc, secs))
    print("\n=== summary ===")
    width = max((len(n) for n, _, _ in results), default=4)
    for name, rc, secs in results:
        status = "ok" if rc == 0 else ("timeout" if rc is None else f"failed (exit {rc})")
        print(f"{name.ljust(width)}  {status:<18} {secs:7.1f} s")
    return 0 if all(rc == 0 for _, rc, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
