"""``ebpf verify OBJ.o [--program NAME] [--log-level N] [--json] [--against-kernel]``:
run our verifier over an object's programs (no root, any OS); with
``--against-kernel`` also load each into the kernel and report disagreements."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check programs with our own verifier",
                       description="Verify each program of an eBPF object with the built-in "
                                   "static verifier (kernel rules and wording; works without "
                                   "root). Exit status 1 when a program is rejected.")
    p.add_argument("object", help="eBPF ELF object (.o)")
    p.add_argument("--program", "-p", action="append", default=[],
                   help="only this program (repeatable)")
    p.add_argument("--log-level", type=int, default=0, choices=(0, 1, 2),
                   help="print the verifier log: 1 every processed instruction, 2 with the "
                        "register state at each (default 0: only rejections)")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")
    p.add_argument("--against-kernel", action="store_true",
                   help="also load each program into the kernel (root) and report where the "
                        "two verifiers disagree (exit status 1 on a disagreement)")
    p.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from ..errors import LoadError
    from ..spec import ObjectSpec
    from ..verifier import verify_program, with_kconfig

    spec = ObjectSpec.from_file(args.object)
    maps, kconfig = with_kconfig(spec)
    names = args.program or list(spec.programs)
    for n in names:
        if n not in spec.programs:
            raise LoadError(f"no program {n!r} in {args.object} (it has "
                            f"{', '.join(sorted(spec.programs)) or 'none'})")
    rows = []
    status = 0
    for n in names:
        res = verify_program(spec.programs[n], maps, max(args.log_level, 1), kconfig=kconfig)
        row = res.as_dict()
        if not res.accepted:
            status = 1
        if args.against_kernel:
            from ..verifier.compare import kernel_verdict

            kv = kernel_verdict(spec, n)
            row["kernel"] = {"accepted": kv.accepted, "error": kv.error,
                             "verification_time_us": kv.verification_time_us,
                             "processed_insns": kv.processed_insns}
            row["agree"] = None if kv.accepted is None else kv.accepted == res.accepted
            if row["agree"] is False:
                status = 1
        rows.append((res, row))
    if args.json:
        json.dump([r for _, r in rows], sys.stdout, indent=2)
        print()
        return status
    for res, row in rows:
        verdict = "accepted" if res.accepted else "REJECTED"
        line = (f"{res.program}: {verdict} ({res.processed_insns} insns processed, "
                f"{res.verification_time_ns // 1000} usec)")
        if "kernel" in row:
            k = row["kernel"]
            word = {True: "accepted", False: "rejected", None: "could not load"}[k["accepted"]]
            line += f"; kernel: {word}"
            if row["agree"] is False:
                line += "  << DISAGREE"
        print(line)
        if not res.accepted:
            where = f"insn {res.insn}" + (f" ({res.source})" if res.source else "")
            print(f"  {where}: {res.error.splitlines()[0]}")
        if "kernel" in row and row["kernel"]["error"]:
            print(f"  kernel: {row['kernel']['error']}")
        if args.log_level:
            print(res.log)
    return status
