"""Shared names for the toolchain tests (importable: tests/toolchain is on sys.path)."""

from __future__ import annotations

from pathlib import Path

PROGRAMS = Path(__file__).resolve().parent / "programs"
PROGRAM_INCLUDE = PROGRAMS / "include"

#: programs using only UAPI headers (<linux/*.h>) and ours
UAPI_PROGRAMS = ["minimal", "xdp_filter", "tail_calls", "tc_ingress", "socket_stats"]
#: programs using a vmlinux.h generated from the kernel's BTF
VMLINUX_PROGRAMS = ["bootstrap", "core_features", "core_bitfields", "probes", "profile", "opensnoop",
                    "uprobe_args", "usdt_args", "task_iter"]

COMPILERS = ["clang", "zig"]


def compiler_available(cc: str) -> bool:
    if cc == "clang":
        from ebpf.toolchain.find import _clang_candidates

        return bool(_clang_candidates())
    if cc == "gcc":
        from ebpf.toolchain.find import _gcc_candidates

        return bool(_gcc_candidates())
    return True  # zig comes with the ziglang package
