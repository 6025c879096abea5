"""Programs the kernel verifier rejects, written for this suite in the spirit of
the kernel's verifier_* selftests: uninitialised registers, stack and context
misuse, packet bounds, map values and null checks, helper arguments, leaked
references, pointer arithmetic, division and shifts, loops and control flow.

Each case: (name, program type, assembly, the fragment of our rejection message).
Assembly extensions: ``rN = map:NAME`` loads a map pointer, ``rN = value:NAME``
the address of a map's value (global data style).
"""

from __future__ import annotations

import re

from ebpf import MapSpec, MapType, ProgramSpec, ProgramType
from ebpf.isa import MapReference, assemble
from ebpf.isa import opcodes as op
from ebpf.spec import BPF_F_RDONLY_PROG, ObjectSpec

SF = ProgramType.SOCKET_FILTER
XDP = ProgramType.XDP
TC = ProgramType.SCHED_CLS
KP = ProgramType.KPROBE
TP = ProgramType.TRACEPOINT
CG = ProgramType.CGROUP_SKB


def maps() -> dict[str, MapSpec]:
    return {
        "hash": MapSpec("hash", MapType.HASH, key_size=4, value_size=8, max_entries=16),
        "array": MapSpec("array", MapType.ARRAY, key_size=4, value_size=16, max_entries=4),
        "rb": MapSpec("rb", MapType.RINGBUF, max_entries=4096),
        "progs": MapSpec("progs", MapType.PROG_ARRAY, key_size=4, value_size=4, max_entries=4),
        "perf": MapSpec("perf", MapType.PERF_EVENT_ARRAY, key_size=4, value_size=4,
                        max_entries=0),
        "ro": MapSpec("ro", MapType.ARRAY, key_size=4, value_size=8, max_entries=1,
                      flags=BPF_F_RDONLY_PROG),
    }


_MAPREF = re.compile(r"^\s*(r\d+) = (map|value):(\w+)\s*$")


def build(text: str) -> list:
    """Assemble, turning ``map:``/``value:`` loads into map references."""
    lines, refs = [], {}
    for ln in text.strip().splitlines():
        m = _MAPREF.match(ln)
        if m:
            refs[len(lines)] = (m.group(2), m.group(3))
            ln = f"{m.group(1)} = 0 ll"
        lines.append(ln)
    insns = assemble("\n".join(lines))
    # map line numbers to instruction indices (labels do not make instructions)
    idx = 0
    by_line = {}
    for i, ln in enumerate(lines):
        s = ln.split("#")[0].split("//")[0].strip()
        if not s or re.fullmatch(r"\w+:", s):
            continue
        if re.match(r"^\w+:\s*\S", s):
            pass
        by_line[i] = idx
        idx += 1
    for line_no, (kind, name) in refs.items():
        ins = insns[by_line[line_no]]
        ins.reference = MapReference(name, 0, value=kind == "value")
        ins.src = op.BPF_PSEUDO_MAP_VALUE if kind == "value" else op.BPF_PSEUDO_MAP_FD
    return insns


def spec_of(name: str, ptype: ProgramType, text: str, license: str = "GPL") -> ObjectSpec:
    ps = ProgramSpec(name=name[:15], type=ptype, instructions=build(text), license=license)
    return ObjectSpec(programs={ps.name: ps}, maps=maps())


# A packet read of 14 bytes checked, for XDP (r2 = data, r3 = data_end)
_XDP_PKT = """
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
"""
_LOOKUP = """
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map:hash
call 1
"""
_LOOKUP_ARR = _LOOKUP.replace("map:hash", "map:array")
_RESERVE = """
r1 = map:rb
r2 = 16
r3 = 0
call 131
"""

CASES: list[tuple[str, ProgramType, str, str]] = [
    # ---- uninitialised registers ---------------------------------------------------------
    ("uninit_r0", SF, "exit", "R0 !read_ok"),
    ("uninit_r2_mov", SF, "r0 = r2\nexit", "R2 !read_ok"),
    ("uninit_r5_add", SF, "r0 = 0\nr0 += r5\nexit", "R5 !read_ok"),
    ("clobbered_r1", SF, "call 5\nr0 = r1\nexit", "R1 !read_ok"),
    ("clobbered_r3_ptr", SF, "r3 = r10\ncall 5\nr0 = *(u64 *)(r3 - 8)\nexit", "R3 !read_ok"),
    ("uninit_store_src", SF, "*(u64 *)(r10 - 8) = r3\nr0 = 0\nexit", "R3 !read_ok"),
    ("uninit_cond", SF, "r0 = 0\nif r4 > 0 goto +0\nexit", "R4 !read_ok"),
    ("uninit_base", SF, "r0 = *(u64 *)(r7 + 0)\nexit", "R7 !read_ok"),
    ("uninit_r0_one_path", SF, "r2 = *(u32 *)(r1 + 0)\nif r2 > 5 goto +1\nr0 = 0\nexit",
     "R0 !read_ok"),
    ("uninit_helper_arg", SF, "r1 = map:hash\ncall 1\nr0 = 0\nexit", "R2 !read_ok"),
    ("uninit_callee_r6", SF, "call f\nr0 = 0\nexit\nf:\nr0 = r6\nexit", "R6 !read_ok"),
    ("uninit_after_call_r2", SF, "r2 = 1\ncall f\nr0 = r2\nexit\nf:\nr0 = 0\nexit",
     "R2 !read_ok"),
    # ---- stack -------------------------------------------------------------------------------
    ("stack_below", SF, "*(u64 *)(r10 - 520) = 0\nr0 = 0\nexit", "stack R10 off=-520"),
    ("stack_above_fp", SF, "*(u64 *)(r10 + 0) = 0\nr0 = 0\nexit", "stack R10 off=0"),
    ("stack_read_above", SF, "r0 = *(u64 *)(r10 + 8)\nexit", "stack R10 off=8"),
    ("stack_far_ptr", SF, "r1 = r10\nr1 += -600\n*(u8 *)(r1 + 0) = 0\nr0 = 0\nexit",
     "stack R1 off=-600"),
    ("stack_var_unbounded", SF, "r2 = *(u32 *)(r1 + 0)\nr3 = r10\nr3 += r2\n"
     "*(u8 *)(r3 - 1) = 0\nr0 = 0\nexit", "variable-offset"),
    ("stack_misaligned", SF, "*(u64 *)(r10 - 12) = 0\nr0 = 0\nexit", "misaligned stack access"),
    ("fp_write", SF, "r10 = 0\nr0 = 0\nexit", "frame pointer is read only"),
    ("fp_mov_into", SF, "r10 = r1\nr0 = 0\nexit", "frame pointer is read only"),
    ("spill_partial_ptr", SF, "*(u32 *)(r10 - 8) = r1\nr0 = 0\nexit", "spill"),
    ("stack_var_helper_oob", TP, "r1 = r10\nr1 += -8\nr2 = 16\ncall 16\nr0 = 0\nexit",
     "stack R1"),
    # ---- context ---------------------------------------------------------------------------
    ("ctx_oob_read", SF, "r0 = *(u32 *)(r1 + 400)\nexit", "invalid bpf_context access"),
    ("ctx_xdp_write", XDP, "r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit",
     "invalid bpf_context access"),
    ("ctx_xdp_wide_read", XDP, "r0 = *(u64 *)(r1 + 0)\nr0 = 0\nexit",
     "invalid bpf_context access"),
    ("ctx_modified", SF, "r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit", "modified ctx ptr"),
    ("ctx_negative", SF, "r0 = *(u32 *)(r1 - 4)\nexit", "invalid bpf_context access"),
    ("ctx_sf_write_mark", SF, "r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit",
     "invalid bpf_context access"),
    ("ctx_st_imm_ro", TC, "*(u32 *)(r1 + 4) = 1\nr0 = 0\nexit", "invalid bpf_context access"),
    ("ctx_sf_no_data", SF, "r0 = *(u32 *)(r1 + 76)\nexit", "invalid bpf_context access"),
    ("ctx_kprobe_past", KP, "r0 = *(u64 *)(r1 + 168)\nexit", "invalid bpf_context access"),
    ("ctx_data_narrow", TC, "r0 = *(u16 *)(r1 + 76)\nr0 = 0\nexit",
     "invalid bpf_context access"),
    ("ctx_ptr_leak_ro", TC, "*(u32 *)(r1 + 0) = r10\nr0 = 0\nexit",
     "invalid bpf_context access"),
    ("ctx_var_off", TC, "r2 = *(u32 *)(r1 + 0)\nr2 &= 4\nr1 += r2\nr0 = *(u32 *)(r1 + 0)\n"
     "exit", "ctx"),
    ("ctx_xdp_read_past", XDP, "r0 = *(u32 *)(r1 + 24)\nexit", "invalid bpf_context access"),
    # ---- packet ------------------------------------------------------------------------------
    ("pkt_no_check", XDP, "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nexit",
     "invalid access to packet"),
    ("pkt_off_by_one", XDP, _XDP_PKT + "if r4 > r3 goto +2\nr0 = *(u8 *)(r2 + 14)\nexit\n"
     "r0 = 0\nexit", "invalid access to packet"),
    ("pkt_wrong_side", XDP, _XDP_PKT + "if r4 <= r3 goto +2\nr0 = *(u8 *)(r2 + 0)\nexit\n"
     "r0 = 0\nexit", "invalid access to packet"),
    ("pkt_negative", XDP, _XDP_PKT + "if r4 > r3 goto +2\nr0 = *(u8 *)(r2 - 1)\nexit\n"
     "r0 = 0\nexit", "invalid access to packet"),
    ("pkt_end_arith", XDP, _XDP_PKT + "r3 += 1\nr0 = 0\nexit", "pkt_end"),
    ("pkt_end_deref", XDP, _XDP_PKT + "r0 = *(u8 *)(r3 + 0)\nexit", "pkt_end"),
    ("pkt_var_after_check", XDP, _XDP_PKT + "if r4 > r3 goto +4\nr5 = *(u8 *)(r2 + 0)\n"
     "r2 += r5\nr0 = *(u8 *)(r2 + 0)\nexit\nr0 = 0\nexit", "invalid access to packet"),
    ("pkt_after_adjust", XDP, _XDP_PKT + "if r4 > r3 goto +5\nr6 = r2\nr2 = 0\ncall 44\n"
     "r0 = *(u8 *)(r6 + 0)\nexit\nr0 = 0\nexit", "invalid mem access 'scalar'"),
    ("pkt_check_other_reg", XDP, _XDP_PKT + "r5 = r2\nr5 += 8\nif r4 > r3 goto +2\n"
     "r0 = *(u8 *)(r5 + 8)\nexit\nr0 = 0\nexit", "invalid access to packet"),
    ("pkt_meta_unchecked", XDP, "r2 = *(u32 *)(r1 + 8)\nr0 = *(u8 *)(r2 + 0)\nexit",
     "invalid access to packet"),
    ("pkt_tc_write_oob", TC, "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\n"
     "r4 += 4\nif r4 > r3 goto +1\n*(u32 *)(r2 + 2) = 0\nr0 = 0\nexit",
     "invalid access to packet"),
    ("pkt_unbounded_add", XDP, _XDP_PKT + "r5 = *(u32 *)(r1 + 12)\nr2 += r5\nr4 = r2\n"
     "r4 += 1\nif r4 > r3 goto +2\nr0 = *(u8 *)(r2 + 0)\nexit\nr0 = 0\nexit", ""),
    # ---- map values ----------------------------------------------------------------------------
    ("map_no_null_check", SF, _LOOKUP + "r0 = *(u64 *)(r0 + 0)\nexit",
     "invalid mem access 'map_value_or_null'"),
    ("map_value_oob", SF, _LOOKUP + "if r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 8)\nr0 = 0\nexit",
     "invalid access to map value"),
    ("map_value_negative", SF, _LOOKUP + "if r0 == 0 goto +1\nr0 = *(u64 *)(r0 - 8)\nr0 = 0\n"
     "exit", "invalid access to map value"),
    ("map_value_var_unbounded", SF, "r6 = *(u32 *)(r1 + 0)\n" + _LOOKUP +
     "if r0 == 0 goto +2\nr0 += r6\nr0 = *(u8 *)(r0 + 0)\nr0 = 0\nexit", "R0"),
    ("map_value_var_too_big", SF, "r6 = *(u32 *)(r1 + 0)\n" + _LOOKUP_ARR +
     "if r0 == 0 goto +3\nif r6 > 15 goto +2\nr0 += r6\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit",
     "invalid access to map value"),
    ("map_null_arith", SF, _LOOKUP + "r0 += 8\nr0 = 0\nexit", "map_value_or_null"),
    ("map_key_scalar", SF, "r2 = 0\nr1 = map:hash\ncall 1\nr0 = 0\nexit", "R2 type=scalar"),
    ("map_key_above_fp", SF, "r2 = r10\nr2 += -2\nr1 = map:hash\ncall 1\nr0 = 0\nexit",
     "stack R2"),
    ("map_value_arg_short", SF, "*(u32 *)(r10 - 8) = 0\nr2 = r10\nr2 += -8\nr3 = r10\n"
     "r3 += -4\nr4 = 0\nr1 = map:hash\ncall 2\nr0 = 0\nexit", "stack R3"),
    ("map_arg_not_map", SF, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nr1 = 0\ncall 1\n"
     "r0 = 0\nexit", "R1 type=scalar expected=map_ptr"),
    ("map_ro_write", SF, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nr1 = map:ro\ncall 1\n"
     "if r0 == 0 goto +1\n*(u64 *)(r0 + 0) = 1\nr0 = 0\nexit", "write into map forbidden"),
    ("map_lookup_ringbuf", SF, _LOOKUP.replace("map:hash", "map:rb") + "r0 = 0\nexit",
     "cannot pass map_type"),
    ("map_ptr_arith", SF, "r1 = map:hash\nr1 += 8\nr0 = 0\nexit", "map_ptr"),
    ("map_second_unchecked", SF, _LOOKUP + "r6 = r0\n" + _LOOKUP + "if r6 == 0 goto +1\n"
     "r0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", "map_value_or_null"),
    ("map_null_side_deref", SF, _LOOKUP + "if r0 != 0 goto +1\nr0 = *(u64 *)(r0 + 0)\n"
     "r0 = 0\nexit", "invalid mem access"),
    ("map_value_write_oob", SF, _LOOKUP + "if r0 == 0 goto +1\n*(u32 *)(r0 + 6) = 1\nr0 = 0\n"
     "exit", "invalid access to map value"),
    ("map_copy_null_check_wrong", SF, _LOOKUP + "r6 = r0\nr6 += 0\nif r6 == 0 goto +2\n"
     "r7 = 0\nr0 = *(u64 *)(r7 + 0)\nr0 = 0\nexit", "map_value_or_null"),
    # ---- helper arguments --------------------------------------------------------------------
    ("helper_unknown", SF, "call 9999\nr0 = 0\nexit", "invalid func unknown#9999"),
    ("helper_xdp_skb_load", XDP, "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\ncall 26\nr0 = 0\nexit",
     "cannot use helper"),
    ("helper_sf_stackid", SF, "r2 = map:hash\nr3 = 0\ncall 27\nr0 = 0\nexit",
     "cannot use helper"),
    ("helper_xdp_probe_read", XDP, "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 4\nr0 = 0\nexit",
     "cannot use helper"),
    ("helper_size_negative", TP, "r1 = r10\nr1 += -16\nr2 = -1\ncall 16\nr0 = 0\nexit",
     "min value is negative"),
    ("helper_size_zero", TP, "r1 = r10\nr1 += -16\nr2 = 0\ncall 16\nr0 = 0\nexit",
     "invalid zero-sized read"),
    ("helper_size_unbounded", TP, "r2 = *(u64 *)(r1 + 8)\nr1 = r10\nr1 += -16\ncall 16\n"
     "r0 = 0\nexit", "R2"),
    ("helper_buf_too_small", TP, "r1 = r10\nr1 += -8\nr2 = 16\ncall 16\nr0 = 0\nexit",
     "stack R1"),
    ("helper_dst_ctx", TP, "r2 = 8\nr3 = 0\ncall 113\nr0 = 0\nexit", "R1 type=ctx"),
    ("ringbuf_size_var", SF, "r2 = *(u32 *)(r1 + 0)\nr1 = map:rb\nr3 = 0\ncall 131\n"
     "if r0 == 0 goto +3\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit", "R2"),
    ("ringbuf_submit_stack", SF, "r1 = r10\nr1 += -8\nr2 = 0\ncall 132\nr0 = 0\nexit",
     "R1 type=fp"),
    ("ringbuf_submit_null", SF, _RESERVE + "r1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit",
     "ringbuf_mem_or_null"),
    ("ringbuf_submit_offset", SF, _RESERVE + "if r0 == 0 goto +4\nr0 += 8\nr1 = r0\nr2 = 0\n"
     "call 132\nr0 = 0\nexit", "zero offset"),
    ("tail_call_hash", SF, "r2 = map:hash\nr3 = 0\ncall 12\nr0 = 0\nexit",
     "cannot pass map_type"),
    ("perf_output_hash", TP, "r2 = map:hash\nr3 = 0\nr4 = r10\nr4 += -8\n"
     "*(u64 *)(r10 - 8) = 0\nr5 = 8\ncall 25\nr0 = 0\nexit", "cannot pass map_type"),
    ("tail_call_ctx_stack", SF, "r1 = r10\nr2 = map:progs\nr3 = 0\ncall 12\nr0 = 0\nexit",
     "R1 type=fp expected=ctx"),
    ("printk_fmt_oob", TP, "*(u64 *)(r10 - 8) = 0\nr1 = r10\nr1 += -8\nr2 = 16\ncall 6\n"
     "r0 = 0\nexit", "stack R1"),
    ("update_flags_uninit", SF, "*(u32 *)(r10 - 4) = 0\n*(u64 *)(r10 - 16) = 0\nr2 = r10\n"
     "r2 += -4\nr3 = r10\nr3 += -16\nr1 = map:hash\ncall 2\nr0 = 0\nexit", "R4 !read_ok"),
    ("loop_callback_scalar", SF, "r1 = 4\nr2 = 0\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit",
     "expected=func"),
    ("gpl_only_helper", TP, "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 113\nr0 = 0\nexit",
     "GPL"),
    ("helper_mem_scalar", TP, "r1 = 0\nr2 = 8\nr3 = 0\ncall 113\nr0 = 0\nexit",
     "R1 type=scalar"),
    # ---- references ----------------------------------------------------------------------------
    ("ringbuf_leak", SF, _RESERVE + "r0 = 0\nexit", "Unreleased reference"),
    ("ringbuf_leak_one_path", SF, "r6 = *(u32 *)(r1 + 0)\n" + _RESERVE +
     "if r0 == 0 goto +5\nif r6 > 3 goto +3\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit",
     "Unreleased reference"),
    ("ringbuf_tail_call_leak", SF, "r6 = r1\n" + _RESERVE + "if r0 == 0 goto +5\nr1 = r6\n"
     "r2 = map:progs\nr3 = 0\ncall 12\nr0 = 0\nexit", "reference leak"),
    ("ringbuf_double_submit", SF, _RESERVE + "if r0 == 0 goto +6\nr6 = r0\nr1 = r0\nr2 = 0\n"
     "call 132\nr1 = r6\nr2 = 0\ncall 132\nr0 = 0\nexit", "R1 type=scalar"),
    ("ringbuf_use_after_submit", SF, _RESERVE + "if r0 == 0 goto +5\nr6 = r0\nr1 = r0\n"
     "r2 = 0\ncall 132\nr0 = *(u64 *)(r6 + 0)\nr0 = 0\nexit", "invalid mem access 'scalar'"),
    ("ringbuf_oob", SF, _RESERVE + "if r0 == 0 goto +4\n*(u64 *)(r0 + 16) = 0\nr1 = r0\n"
     "r2 = 0\ncall 132\nr0 = 0\nexit", "invalid access to memory"),
    # ---- pointer arithmetic --------------------------------------------------------------------
    ("ptr_plus_ptr", SF, "r1 = r10\nr1 += r10\nr0 = 0\nexit", "pointer += pointer"),
    ("ptr_mul", SF, "r1 = r10\nr1 *= 2\nr0 = 0\nexit", "pointer arithmetic with *= operator"),
    ("ptr_and", SF, "r1 = r10\nr1 &= 7\nr0 = 0\nexit", "bitwise operator &= on pointer"),
    ("ptr_add32", SF, "r1 = r10\nw1 += 1\nr0 = 0\nexit", "32-bit pointer arithmetic"),
    ("scalar_minus_ptr", SF, "r2 = 0\nr2 -= r10\nr0 = 0\nexit", "subtract pointer from scalar"),
    ("ptr_neg_deref", SF, "r1 = r10\nr1 = -r1\nr0 = *(u64 *)(r1 + 0)\nexit",
     "invalid mem access 'scalar'"),
    ("ptr_bswap_deref", SF, "r1 = r10\nr1 = be16 r1\nr0 = *(u8 *)(r1 + 0)\nexit",
     "invalid mem access 'scalar'"),
    ("ptr_lsh", SF, "r1 = r10\nr1 <<= 1\nr0 = 0\nexit", "pointer arithmetic with <<= operator"),
    ("ptr_or", SF, "r1 = r10\nr1 |= 1\nr0 = 0\nexit", "bitwise operator |= on pointer"),
    ("ptr_div", SF, "r1 = r10\nr1 /= 2\nr0 = 0\nexit", "pointer arithmetic with /= operator"),
    ("ptr_xor32", SF, "r1 = r10\nw1 ^= 1\nr0 = 0\nexit", "32-bit pointer arithmetic"),
    ("ctx_ptr_mul", SF, "r1 *= 3\nr0 = 0\nexit", "pointer arithmetic with *= operator"),
    # ---- division, shifts, encoding ---------------------------------------------------------------
    ("div_zero_imm", SF, "r0 = 1\nr0 /= 0\nexit", "div by zero"),
    ("mod_zero_imm32", SF, "r0 = 1\nw0 %= 0\nexit", "div by zero"),
    ("shift_64", SF, "r0 = 1\nr0 <<= 64\nexit", "invalid shift 64"),
    ("shift32_32", SF, "r0 = 1\nw0 >>= 32\nexit", "invalid shift 32"),
    ("arsh_neg", SF, "r0 = 1\nr0 s>>= -1\nexit", "invalid shift"),
    # ---- control flow and loops ----------------------------------------------------------------------
    ("infinite_self_jump", SF, "r0 = 0\nl:\ngoto l\nexit", ""),
    ("infinite_no_progress", SF, "r0 = 0\nr1 = 0\nl:\nr1 += 0\nif r1 < 10 goto l\nexit",
     "infinite loop detected"),
    ("infinite_unknown_down", SF, "r0 = 0\nr1 = *(u32 *)(r1 + 0)\nl:\nr1 |= 1\n"
     "if r1 != 0 goto l\nexit", "infinite loop detected"),
    ("unreachable", SF, "r0 = 0\nexit\nr0 = 1\nexit", "unreachable insn 2"),
    ("jump_out_of_range", SF, "r0 = 0\ngoto +10\nexit", "jump out of range"),
    ("no_exit", SF, "r0 = 0\nr0 += 1", "last insn"),
    ("fallthrough_end", SF, "r0 = 0\nif r0 == 0 goto +1\nexit\nr0 = 1", ""),
    ("recursion", SF, "call f\nr0 = 0\nexit\nf:\ncall f\nr0 = 0\nexit", ""),
    ("call_too_deep", SF, "call a\nr0 = 0\nexit\na:\ncall b\nexit\nb:\ncall c\nexit\n"
     "c:\ncall d\nexit\nd:\ncall e\nexit\ne:\ncall f\nexit\nf:\ncall g\nexit\ng:\ncall h\nexit\n"
     "h:\nr0 = 0\nexit", "frames is too deep"),
    ("combined_stack", SF, "*(u64 *)(r10 - 296) = 0\ncall a\nr0 = 0\nexit\n"
     "a:\n*(u64 *)(r10 - 304) = 0\nr0 = 0\nexit", "combined stack size"),
    ("callee_returns_stack", SF, "call a\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit\n"
     "a:\n*(u64 *)(r10 - 8) = 0\nr0 = r10\nr0 += -8\nexit", ""),
    ("loop_callback_ret", SF, "r1 = 4\nr2 = 0 ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\n"
     "cb:\nr0 = 5\nexit", "callback return"),
    ("ld_abs_xdp", XDP, "r6 = r1\nr0 = *(u8 *)skb[0]\nr0 = 0\nexit", "BPF_LD_[ABS|IND]"),
    ("ld_abs_r6_not_ctx", SF, "r6 = 0\nr0 = *(u8 *)skb[0]\nexit", "R6"),
    ("cgroup_ret_range", CG, "r0 = 5\nexit", "should have been in"),
    ("cgroup_ret_ptr", CG, "r0 = r10\nexit", "R0 is not a known value"),
    ("atomic_ctx", TC, "r2 = 1\nlock *(u32 *)(r1 + 0) += r2\nr0 = 0\nexit", "BPF_ATOMIC"),
    ("atomic_pkt", XDP, _XDP_PKT + "if r4 > r3 goto +3\nr5 = 1\nlock *(u32 *)(r2 + 0) += r5\n"
     "exit\nr0 = 0\nexit", "BPF_ATOMIC"),
    ("atomic_ringbuf_null", SF, _RESERVE + "r1 = 1\nlock *(u64 *)(r0 + 0) += r1\nr0 = 0\n"
     "exit", "ringbuf_mem_or_null"),
    ("branch_in_lddw", SF, "r0 = 0\nif r0 == 0 goto +1\nr1 = 0 ll\nexit", ""),
]


def fix_callbacks(name: str, insns: list) -> list:
    """``loop_callback_ret``: turn its ``r2 = 0 ll`` into a function reference."""
    if name == "loop_callback_ret":
        for _i, ins in enumerate(insns):
            if ins.is_lddw and ins.dst == 2:
                ins.src = op.BPF_PSEUDO_FUNC
                # from this lddw (index i, slot i) to the callback: 2 instructions after exit
                ins.imm = 6
    return insns


def cases_specs():
    for name, ptype, text, expect in CASES:
        lic = "Proprietary" if name == "gpl_only_helper" else "GPL"
        spec = spec_of(name, ptype, text, license=lic)
        ps = next(iter(spec.programs.values()))
        fix_callbacks(name, ps.instructions)
        yield name, spec, ps, expect
