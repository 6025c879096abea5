"""Compile libbpf-style C to BPF objects.

``compile()`` finds a compiler (clang, GCC's BPF target, or the zig C compiler
from the ``ziglang`` package), puts our own libbpf-compatible headers
(``<bpf/bpf_helpers.h>``, ``bpf_tracing.h``, ``bpf_core_read.h``,
``bpf_endian.h``) first on the include path and generates ``vmlinux.h`` from the
kernel's BTF when a source asks for it.

>>> import ebpf
>>> ebpf.toolchain.INCLUDE_DIR.joinpath("bpf", "bpf_helpers.h").is_file()
True
"""

from __future__ import annotations

from .driver import INCLUDE_DIR, compile, compiler_args, default_output, target_arch
from .find import Compiler, available_compilers, find_compiler

__all__ = ["INCLUDE_DIR", "Compiler", "available_compilers", "compile", "compiler_args",
           "default_output", "find_compiler", "target_arch"]
