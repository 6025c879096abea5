"""`make fuzz`: bounded, coverage-guided fuzzing (atheris / libFuzzer) of the ELF
reader, BTF parsing and rendering, the instruction decoder and the assembler.

    python tools/fuzz.py [--time SECONDS] [--out DIR] [TARGET ...]

Each target (tests/fuzz_targets.py) runs in its own process for SECONDS (default
60), starting from seeds built here: objects compiled from the test programs,
their BTF and instructions, their disassembly, and hand-made BTF loops. An input
that makes a target raise anything but an ``ebpf.Error``, fail an invariant or run
longer than 10 s is a crash: libFuzzer writes it to DIR/crash-* (or timeout-*),
this script prints it as hex and exits 1. Put each one into
tests/test_fuzz_regressions.py, then fix it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def _run_one(target: str, args: list[str]) -> None:
    """In the child: instrument ebpf, then hand the target to libFuzzer."""
    import atheris

    sys.path.insert(0, str(TESTS))
    with atheris.instrument_imports(include=["ebpf"]):
        import ebpf  # noqa: F401  (instrumented for coverage)
        import ebpf.btf.dump
        import ebpf.btf.render
        import ebpf.elf
        import ebpf.isa.asm
        import ebpf.isa.disasm  # noqa: F401
    import fuzz_targets

    check = fuzz_targets.TARGETS[target]
    atheris.Setup([sys.argv[0], *args], check)
    atheris.Fuzz()


def _seeds(into: Path) -> dict[str, Path]:
    """Seed corpora per target, built from the test programs."""
    import ebpf
    from ebpf import isa

    dirs = {t: into / t for t in ("elf", "btf", "decoder", "assembler")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    sources = sorted((TESTS / "elf" / "progs").glob("*.bpf.c"))
    sources += sorted((TESTS / "kernel" / "progs").glob("*.bpf.c"))[:6]
    for src in sources:
        obj = into / f"{src.stem}.o"
        try:
            ebpf.compile(src, obj)
        except ebpf.Error as e:
            print(f"fuzz: seed {src.name} not compiled: {str(e).splitlines()[0]}", file=sys.stderr)
            continue
        data = obj.read_bytes()
        (dirs["elf"] / obj.name).write_bytes(data)
        from ebpf._internal.elf import section_contents

        raw_btf = section_contents(data).get(".BTF")
        if raw_btf:
            (dirs["btf"] / f"{src.stem}.btf").write_bytes(raw_btf)
        try:
            spec = ebpf.ObjectSpec.from_bytes(data, name=obj.name)
        except ebpf.Error:
            continue
        for name, prog in list(spec.programs.items())[:3]:
            try:
                (dirs["decoder"] / f"{src.stem}.{name}.bin").write_bytes(isa.encode(prog.instructions))
                (dirs["assembler"] / f"{src.stem}.{name}.s").write_text(
                    isa.disassemble(prog.instructions))
            except ebpf.Error:
                continue
    sys.path.insert(0, str(TESTS / "btf"))
    from btf_craft import loops

    for name, blob in loops().items():
        (dirs["btf"] / f"loop_{name}.btf").write_bytes(blob)
    return dirs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run"]:  # internal: the child process, libFuzzer arguments follow
        _run_one(argv[1], argv[2:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("targets", nargs="*", default=["elf", "btf", "decoder", "assembler"])
    p.add_argument("--time", type=int, default=60, help="seconds per target (default 60)")
    p.add_argument("--out", default="build/fuzz", help="where corpora and crashes go")
    args = p.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz: atheris is not installed (pip install -e '.[fuzz]'; `make fuzz` does)",
              file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ebpf-fuzz-seeds-") as tmp:
        seeds = _seeds(Path(tmp))
        found: list[Path] = []
        for target in args.targets:
            corpus = out / "corpus" / target
            corpus.mkdir(parents=True, exist_ok=True)
            crashes = out / "crashes" / target
            crashes.mkdir(parents=True, exist_ok=True)
            before = set(crashes.iterdir())
            cmd = [sys.executable, __file__, "--run", target, str(corpus), str(seeds[target]),
                   f"-max_total_time={args.time}", "-timeout=10", "-rss_limit_mb=4096",
                   "-max_len=65536", f"-artifact_prefix={crashes}/", "-print_final_stats=1"]
            print(f"fuzz: {target} for {args.time} s", flush=True)
            r = subprocess.run(cmd, cwd=out, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            stats = [ln for ln in r.stdout.splitlines() if ln.startswith(("stat::", "Done "))]
            print("\n".join(f"  {ln}" for ln in stats))
            new = sorted(set(crashes.iterdir()) - before)
            if r.returncode != 0 or new:
                tail = "\n".join(r.stdout.splitlines()[-40:])
                print(f"fuzz: {target}: CRASH (exit {r.returncode})\n{tail}", file=sys.stderr)
                for f in new:
                    print(f"  {f}: {f.read_bytes()[:2048].hex()}", file=sys.stderr)
                found.extend(new or [Path(f"{target}: exit {r.returncode}")])
    if found:
        print(f"fuzz: {len(found)} crash(es); add them to tests/test_fuzz_regressions.py",
              file=sys.stderr)
        return 1
    print("fuzz: no crashes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
