"""Compile libbpf-style C to BPF objects.

``compile()`` finds a compiler (clang, GCC's BPF target, or the zig C compiler
from the ``ziglang`` package, which is always there), puts our own
libbpf-compatible headers first on the include path and generates ``vmlinux.h``
from the kernel's BTF when a source asks for it (cached per BTF, in
``~/.cache/ebpf/vmlinux``).

Headers shipped (``<bpf/...>``): ``bpf_helpers.h`` (SEC, __uint/__type/__array,
bpf_printk, bpf_tail_call_static, bpf_for, __kconfig/__ksym, every helper from
the generated ``bpf_helper_defs.h``), ``bpf_endian.h``, ``bpf_tracing.h``
(PT_REGS_*, BPF_PROG/BPF_PROG2, BPF_KPROBE/KRETPROBE, BPF_UPROBE/URETPROBE,
BPF_KSYSCALL, BPF_SEQ_PRINTF), ``bpf_core_read.h`` (BPF_CORE_READ and the CO-RE
queries) and ``usdt.bpf.h`` (BPF_USDT, bpf_usdt_arg).

>>> import ebpf
>>> ebpf.toolchain.INCLUDE_DIR.joinpath("bpf", "bpf_helpers.h").is_file()
True
"""

from __future__ import annotations

from .driver import INCLUDE_DIR, compile, compiler_args, default_output, target_arch
from .find import Compiler, available_compilers, find_compiler

__all__ = ["INCLUDE_DIR", "Compiler", "available_compilers", "compile", "compiler_args",
           "default_output", "find_compiler", "target_arch"]
