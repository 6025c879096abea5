"""Tiny raw-instruction helpers for the attach tests: programs that need no
compiler, loaded straight through bpf(2) (independent of the ELF loader)."""

from __future__ import annotations

import ctypes
import struct

from ebpf.kernel import commands
from ebpf.kernel import sys as bsys
from ebpf.spec import ProgramSpec
from ebpf.uapi import Command, ProgramType, structs


def ins(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def mov64_imm(dst: int, imm: int) -> bytes:
    return ins(0xB7, dst, imm=imm)


def mov64_reg(dst: int, src: int) -> bytes:
    return ins(0xBF, dst, src)


def ld_map_fd(dst: int, fd: int) -> bytes:
    return ins(0x18, dst, 1, imm=fd) + ins(0, 0, imm=0)


def call(helper: int) -> bytes:
    return ins(0x85, imm=helper)


def exit_() -> bytes:
    return ins(0x95)


class RawProgram:
    """Quacks like a KernelProgram for attach_program: .fd, .spec, .name."""

    backend = "kernel"

    def __init__(self, spec: ProgramSpec, fd: bsys.FD):
        self.spec = spec
        self._fd = fd

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def fd(self) -> int:
        return self._fd.fd

    @property
    def id(self) -> int:
        return commands.get_info_by_fd(self.fd, structs.ProgInfo()).id

    def attach(self, **target):
        from ebpf.kernel.attach import attach_program

        return attach_program(self, **target)

    def close(self) -> None:
        self._fd.close()


def load(code: bytes, ptype: ProgramType, *, name: str = "raw", section: str = "",
         expected_attach_type: int = 0, license: str = "GPL", **spec_kw) -> RawProgram:
    buf = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(license.encode())
    log = ctypes.create_string_buffer(65536)
    attr = structs.ProgLoadAttr(prog_type=int(ptype), insn_cnt=len(code) // 8,
                             insns=ctypes.addressof(buf), license=ctypes.addressof(lic),
                             log_level=1, log_size=len(log), log_buf=ctypes.addressof(log),
                             expected_attach_type=expected_attach_type)
    attr.prog_name = name.encode()[:15]
    try:
        fd = bsys.bpf(Command.PROG_LOAD, attr)
    except OSError as e:
        raise AssertionError(f"load failed: {e}\n{log.value.decode()}") from None
    spec = ProgramSpec(name=name, type=ptype, section=section, **spec_kw)
    if section and not spec.attach_kind:
        from ebpf.spec.sections import classify

        info = classify(section)
        spec.attach_kind = info.attach_kind
        spec.attach_to = info.attach_to
        spec.attach_type = info.attach_type
        spec.retprobe = info.retprobe
    return RawProgram(spec, bsys.FD(fd))


def prog_exists(prog_id: int) -> bool:
    try:
        fd = commands.get_fd_by_id(Command.PROG_GET_FD_BY_ID, prog_id)
    except OSError:
        return False
    fd.close()
    return True


def count_into_array(map_fd: int, *, only_tgid: int | None = None) -> bytes:
    """Program body: if (tgid matches) array[0] += 1 (atomically); return 0."""
    code = b""
    if only_tgid is not None:
        code += call(14)                               # bpf_get_current_pid_tgid
        code += ins(0x77, 0, imm=32)                   # r0 >>= 32
        code += ins(0x55, 0, off=9, imm=only_tgid)     # if r0 != tgid goto out
    code += ins(0x62, 10, off=-4, imm=0)               # *(u32 *)(r10 - 4) = 0
    code += mov64_reg(2, 10) + ins(0x07, 2, imm=-4)    # r2 = r10 - 4
    code += ld_map_fd(1, map_fd)                       # r1 = map
    code += call(1)                                    # bpf_map_lookup_elem
    code += ins(0x15, 0, off=2, imm=0)                 # if r0 == 0 goto out
    code += mov64_imm(1, 1)
    code += ins(0xDB, 0, 1, 0, 0)                      # lock *(u64 *)(r0 + 0) += r1
    code += mov64_imm(0, 0) + exit_()                  # out: return 0
    return code


def emit_record(map_fd: int, value: int, *, perf: bool = False, size: int = 8) -> bytes:
    """Program body: write the u64 ``value`` (then zeros up to ``size`` bytes) to a
    ring buffer (bpf_ringbuf_output) or to a perf event array on the current CPU
    (bpf_perf_event_output; r1 must still be the context); return 2 (XDP_PASS)."""
    assert size % 8 == 0 and 8 <= size <= 256
    code = mov64_reg(6, 1)                              # r6 = ctx
    for off in range(8, size + 1, 8):
        code += ins(0x7A, 10, off=-off, imm=0)          # *(u64 *)(r10 - off) = 0
    code += ins(0x7A, 10, off=-size, imm=value)         # first u64 = value
    if perf:
        code += mov64_reg(1, 6)
        code += ld_map_fd(2, map_fd)
        code += ins(0x18, 3, imm=-1) + ins(0, 0, imm=0)  # r3 = BPF_F_CURRENT_CPU
        code += mov64_reg(4, 10) + ins(0x07, 4, imm=-size)
        code += mov64_imm(5, size)
        code += call(25)                                # bpf_perf_event_output
    else:
        code += ld_map_fd(1, map_fd)
        code += mov64_reg(2, 10) + ins(0x07, 2, imm=-size)
        code += mov64_imm(3, size) + mov64_imm(4, 0)
        code += call(130)                               # bpf_ringbuf_output
    code += mov64_imm(0, 2) + exit_()
    return code


def run_prog(prog: RawProgram, data: bytes = b"\0" * 64, repeat: int = 1) -> int:
    buf = ctypes.create_string_buffer(data, len(data))
    attr = structs.ProgTestRunAttr(prog_fd=prog.fd, data_size_in=len(data),
                                data_in=ctypes.addressof(buf), repeat=repeat)
    bsys.bpf(Command.PROG_TEST_RUN, attr)
    return attr.retval


def printk(message: bytes) -> bytes:
    """Program body: bpf_trace_printk(message " %d\\n", 42); return 2."""
    fmt = message + b" %d\n\0"
    fmt += b"\0" * (-len(fmt) % 8)
    code = b""
    for i in range(0, len(fmt), 8):
        word = int.from_bytes(fmt[i:i + 8], "little")
        lo, hi = word & 0xFFFFFFFF, word >> 32
        code += ins(0x18, 1, imm=lo - (1 << 32) if lo >= 1 << 31 else lo)
        code += ins(0, 0, imm=hi - (1 << 32) if hi >= 1 << 31 else hi)
        code += ins(0x7B, 10, 1, off=-len(fmt) + i)    # *(u64 *)(r10 - ..) = r1
    code += mov64_reg(1, 10) + ins(0x07, 1, imm=-len(fmt))
    code += mov64_imm(2, len(fmt)) + mov64_imm(3, 42)
    code += call(6)                                    # bpf_trace_printk
    code += mov64_imm(0, 2) + exit_()
    return code
