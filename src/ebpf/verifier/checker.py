"""The abstract interpreter: walks every path of the program from the entry
state, one instruction at a time, with the kernel's state pruning (a path that
reaches a point already explored from a state that *covers* it stops) and its
loop rule (a path that comes back to a loop head in exactly the state it had
there would loop forever).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .._internal.ints import s32
from ..isa import opcodes as op
from ..isa.instruction import (
    FunctionReference,
    Instruction,
    KconfigReference,
    KsymReference,
    MapReference,
)
from ..uapi import MapType, ProgramType
from . import cfg as cfgmod
from . import platform
from . import scalar as sc
from .branches import BranchRules
from .calls import CallRules
from .log import VerifierLog, format_regs, format_stack
from .scalar import Scalar
from .state import ALL_SLOTS, State, covers, new_state
from .types import NOT_INIT, Kind, Reg, Reject, const, pointer, scalar

INSN_LIMIT = 1_000_000
MAX_STATES_PER_INSN = 64

_ALU_NAMES = {op.BPF_ADD: "add", op.BPF_SUB: "sub", op.BPF_MUL: "mul", op.BPF_DIV: "div",
              op.BPF_OR: "or", op.BPF_AND: "and", op.BPF_LSH: "lsh", op.BPF_RSH: "rsh",
              op.BPF_MOD: "mod", op.BPF_XOR: "xor", op.BPF_ARSH: "arsh"}
_ALU_SYMBOL = {"add": "+=", "sub": "-=", "mul": "*=", "div": "/=", "or": "|=", "and": "&=",
               "lsh": "<<=", "rsh": ">>=", "mod": "%=", "xor": "^=", "arsh": "s>>="}
@dataclass
class Node:
    """An explored state at a prune point; ``branches`` counts unfinished paths under it."""

    state: State
    parent: Node | None
    branches: int = 1
    exact_only: bool = False


@dataclass
class Stats:
    processed: int = 0
    states: int = 0
    peak_states: int = 0
    max_states_per_insn: int = 0
    stack_depths: list[int] = field(default_factory=list)


class Verifier(CallRules, BranchRules):
    """Verify one program. ``maps`` resolves ``lddw`` map references by name."""

    def __init__(self, instructions: list[Instruction], prog_type: ProgramType,
                 maps: dict[str, Any] | None = None, license: str = "GPL",
                 attach_type: Any = None, log_level: int = 1, btf: Any = None,
                 name: str = "", privileged: bool = True,
                 kconfig: dict[str, int] | None = None,
                 ctx_args: tuple[bool | str, ...] | None = None,
                 kernel_btf: Any = None):
        self.insns_list = instructions
        #: tracing programs: which u64 context slots hold pointers (True) or scalars
        #: (False), from the attach target's BTF prototype; None: any may be a pointer
        self.ctx_args = ctx_args
        #: the kernel's BTF (a btf.Spec), for typed kernel pointers' struct layouts;
        #: None: read the running kernel's on first need (no layout checks without)
        self.kernel_btf = kernel_btf
        #: where each ``.kconfig`` extern sits in the ``.kconfig`` map: with that map's
        #: data known, loads of an extern are constants (as the kernel's for the
        #: frozen read-only map libbpf makes), so dead version branches are pruned
        self.kconfig = kconfig or {}
        self.prog_type = ProgramType(prog_type)
        self.maps = maps or {}
        self.license = license
        self.attach_type = attach_type
        self.log = VerifierLog(log_level)
        self.btf = btf
        self.name = name
        #: as the kernel for CAP_PERFMON/CAP_SYS_ADMIN: uninitialised stack reads are
        #: allowed, pointer subtraction and comparisons too
        self.privileged = privileged
        self.ctx_layout = platform.context(self.prog_type)
        self._next_id = 0
        self.stats = Stats()
        self.explored: dict[int, list[Node]] = {}
        self.depth: dict[int, int] = {}
        self.calls: dict[int, set[int]] = {}
        #: first instructions of callbacks: loop heads bounded at run time (widened)
        self.callback_starts: set[int] = set()

    # ---- the walk ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.cfg = cfgmod.build(self.insns_list)
        except cfgmod.CFGError as e:
            raise Reject(str(e)) from None
        regs = [NOT_INIT] * 11
        regs[1] = pointer(Kind.CTX)
        regs[10] = pointer(Kind.STACK, frame=0)
        start = new_state(regs)
        root = Node(start.copy(), None)
        work: list[tuple[State, Node, int]] = [(start, root, -1)]
        insns = self.cfg.insns
        prune_points = self.cfg.prune_points
        log = self.log
        while work:
            st, node, origin = work.pop()
            if log.level and origin >= 0:
                log(f"from {origin} to {st.insn}: {format_regs(st.regs)}")
            while True:
                slot = st.insn
                self.stats.processed += 1
                if self.stats.processed > INSN_LIMIT:
                    raise Reject(f"BPF program is too large. Processed {INSN_LIMIT + 1} insn")
                if slot in prune_points:
                    found = self._visit(slot, st, node)
                    if found is None:
                        self._finish(node)
                        break
                    node = found
                ins = insns[slot]
                assert ins is not None
                if log.level:
                    log.insn(slot, ins, self._state_text(st) if log.level >= 2 else None)
                self.cur_slot = slot
                nxt = self.step(st, ins, slot)
                if not nxt:
                    self._finish(node)
                    break
                st = nxt[0]
                for other in nxt[1:]:
                    node.branches += 1
                    work.append((other, node, slot))
        self._check_stack_depth()

    def _state_text(self, st: State) -> str:
        text = format_regs(st.regs)
        stack = format_stack(st.cur)
        return f"{text} {stack}".strip()

    def _finish(self, node: Node | None) -> None:
        while node is not None:
            node.branches -= 1
            if node.branches > 0:
                return
            node = node.parent

    def _visit(self, slot: int, st: State, node: Node) -> Node | None:
        """At a prune point: None when an explored state covers ``st`` (stop here)."""
        live = self.cfg.live_in[slot]
        nodes = self.explored.setdefault(slot, [])
        iter_next = self._is_iter_next(slot) or slot in self.callback_starts
        for old in nodes:
            if old.branches > 0:
                # still being explored: ``st`` descends from it (a loop), and what its
                # paths read is not all known yet: every slot counts
                if iter_next and covers(old.state, st, live):
                    for fi in range(len(st.frames)):
                        st.mark_read(fi, ALL_SLOTS)
                    return None
                if covers(old.state, st, live, exact=True):
                    raise Reject(f"infinite loop detected at insn {slot}")
                continue
            read = old.state.ckpt.read if old.state.ckpt is not None else None
            if covers(old.state, st, live, read=read):
                if read is not None:
                    # the paths ``old`` explored, ``st`` would take: their reads are its
                    for fi, mask in enumerate(read):
                        st.mark_read(fi, mask)
                return None
        if iter_next:
            self._widen(st, nodes)
        st.checkpoint()
        new = Node(st.copy(), node)
        new.state.insn = slot
        nodes.append(new)
        if len(nodes) > MAX_STATES_PER_INSN:
            # forget the oldest finished states (the kernel evicts too)
            for i, n in enumerate(nodes):
                if n.branches == 0:
                    del nodes[i]
                    break
        self.stats.states += 1
        self.stats.max_states_per_insn = max(self.stats.max_states_per_insn, len(nodes))
        return new

    def _is_iter_next(self, slot: int) -> bool:
        ins = self.cfg.insns[slot]
        return (ins is not None and ins.is_kfunc_call and isinstance(ins.reference, KsymReference)
                and ins.reference.name.endswith("_next") and ins.reference.name.startswith(
                    "bpf_iter_"))

    def _widen(self, st: State, nodes: list[Node]) -> None:
        """At an iterator's next(): scalars that changed since an unfinished visit
        become unknown, so the loop converges (the iterator bounds it at run time)."""
        for old in nodes:
            if old.branches <= 0 or len(old.state.frames) != len(st.frames):
                continue
            if any(fo.callsite != fn.callsite for fo, fn in zip(old.state.frames, st.frames, strict=True)):
                continue  # the same callback reached from another call: not this loop
            for fo, fn in zip(old.state.frames, st.frames, strict=True):
                for i, (ro, rn) in enumerate(zip(fo.regs, fn.regs, strict=True)):
                    if ro.kind is Kind.SCALAR and rn.kind is Kind.SCALAR and ro.var != rn.var:
                        fn.regs[i] = scalar()
                for i, (so, sn) in enumerate(zip(fo.stack, fn.stack, strict=True)):
                    if (so.spill is not None and sn.spill is not None
                            and so.spill.kind is Kind.SCALAR and sn.spill.kind is Kind.SCALAR
                            and so.spill.var != sn.spill.var):
                        n = sn.bytes_.count("s")
                        wide = Scalar.unknown() if n >= 8 else Scalar.urange(0, (1 << (8 * n)) - 1)
                        fn.stack[i] = type(sn)(sn.bytes_, scalar(wide))

    def _check_stack_depth(self) -> None:
        def rounded(sp: int) -> int:
            d = max(self.depth.get(sp, 0), 1)
            return (d + 31) // 32 * 32

        def worst(sp: int, seen: tuple[int, ...]) -> tuple[int, int]:
            best, frames = rounded(sp), 1
            for c in self.calls.get(sp, ()):
                if c in seen:
                    continue
                d, n = worst(c, seen + (c,))
                if rounded(sp) + d > best:
                    best, frames = rounded(sp) + d, n + 1
            return best, frames

        total, frames = worst(0, (0,))
        if total > 512:
            raise Reject(f"combined stack size of {frames} calls is {total}. Too large")
        self.stats.stack_depths = [self.depth.get(i, 0) for i in range(len(self.cfg.subprogs))]

    # ---- one instruction ---------------------------------------------------------------------
    def step(self, st: State, ins: Instruction, slot: int) -> list[State]:
        c = ins.cls
        if c in (op.BPF_ALU, op.BPF_ALU64):
            self.alu(st, ins)
            st.insn = slot + 1
            return [st]
        if c == op.BPF_LDX:
            self.ldx(st, ins)
            st.insn = slot + 1
            return [st]
        if c in (op.BPF_ST, op.BPF_STX):
            self.store(st, ins)
            st.insn = slot + 1
            return [st]
        if c == op.BPF_LD:
            if ins.is_lddw:
                self.lddw(st, ins, slot)
                st.insn = slot + 2
                return [st]
            self.ld_abs(st, ins)
            st.insn = slot + 1
            return [st]
        # jumps
        code = ins.opcode & 0xF0
        if ins.is_exit:
            return self.do_exit(st, slot)
        if ins.is_call:
            if ins.opcode == op.CALLX:
                raise Reject("unknown opcode 8d")
            if ins.is_local_call:
                return self.call_local(st, ins, slot)
            if ins.is_kfunc_call:
                out = self.call_kfunc(st, ins, slot)
            else:
                out = self.call_helper(st, ins, slot)
            for s in out:
                if s.insn == slot or s is st:
                    s.insn = slot + 1
            return out
        if ins.opcode == (op.BPF_JMP | 0xE0):  # may_goto
            other = st.copy()
            st.insn = slot + 1
            other.insn = ins.jump_target(slot)
            return [st, other]
        if code == op.BPF_JA:
            st.insn = ins.jump_target(slot)
            return [st]
        return self.cond_jump(st, ins, slot)

    def write_reg(self, st: State, regno: int, reg: Reg) -> None:
        if regno == 10:
            raise Reject("frame pointer is read only")
        if regno > 10:
            raise Reject(f"R{regno} is invalid")
        st.regs[regno] = reg

    # ---- ALU ----------------------------------------------------------------------------------
    def alu(self, st: State, ins: Instruction) -> None:
        is64 = ins.cls == op.BPF_ALU64
        code = ins.opcode & 0xF0
        src_x = bool(ins.opcode & op.BPF_X)
        dst = ins.dst
        if dst == 10:
            raise Reject("frame pointer is read only")
        if code == op.BPF_END:
            if ins.imm not in (16, 32, 64):
                raise Reject(f"BPF_END uses reserved fields (imm {ins.imm})")
            r = self.read(st, dst)
            if r.kind is not Kind.SCALAR:
                if not self.privileged:
                    raise Reject(f"R{dst} pointer arithmetic prohibited")
                r = scalar()
            swap = bool(ins.opcode & op.BPF_X) or is64
            self.write_reg(st, dst, scalar(sc.bswap(r.var, ins.imm, swap)))
            return
        if code == op.BPF_NEG:
            r = self.read(st, dst)
            if r.kind is not Kind.SCALAR:
                if not self.privileged:
                    raise Reject(f"R{dst} pointer arithmetic prohibited")
                r = scalar()
            self.write_reg(st, dst, scalar(sc.neg(r.var, is64)))
            return
        if code == op.BPF_MOV:
            self._mov(st, ins, is64, src_x)
            return
        name = _ALU_NAMES.get(code)
        if name is None:
            raise Reject(f"invalid BPF_ALU opcode {code:x}")
        signed = ins.off == 1 and name in ("div", "mod")
        if src_x:
            src = self.read(st, ins.src)
        else:
            if ins.src != 0 or ins.off not in (0, 1) or ins.off and name not in ("div", "mod"):
                raise Reject("BPF_ALU uses reserved fields")
            if name in ("div", "mod") and ins.imm == 0:
                raise Reject("div by zero")
            if name in ("lsh", "rsh", "arsh") and not 0 <= ins.imm < (64 if is64 else 32):
                raise Reject(f"invalid shift {ins.imm}")
            src = const(ins.imm if is64 else ins.imm & 0xFFFFFFFF)
            if is64:
                src = const(ins.imm & ((1 << 64) - 1))
        d = self.read(st, dst)
        if d.kind is Kind.SCALAR and src.kind is Kind.SCALAR:
            opname = ("s" + name) if signed else name
            self.write_reg(st, dst, scalar(sc.alu(opname, d.var, src.var, is64)))
            return
        self._ptr_alu(st, dst, d, src, name, is64, ins)

    def _mov(self, st: State, ins: Instruction, is64: bool, src_x: bool) -> None:
        dst = ins.dst
        if not src_x:
            if ins.src or ins.off:
                raise Reject("BPF_MOV uses reserved fields")
            v = ins.imm & ((1 << 64) - 1) if is64 else ins.imm & 0xFFFFFFFF
            self.write_reg(st, dst, const(v))
            return
        src = self.read(st, ins.src)
        if ins.off == 1 and is64:  # addr_space_cast
            if ins.imm not in (1, 1 << 16):
                raise Reject("addr_space_cast insn can only convert between address space 1 "
                             "and 0")
            if not any(ms.type == MapType.ARENA for ms in self.maps.values()):
                raise Reject("addr_space_cast insn can only be used in a program that has an "
                             "associated arena")
            # to the kernel's address space: arena memory; to the user's: a number
            self.write_reg(st, dst, pointer(Kind.ARENA, var=Scalar.unknown()) if ins.imm == 1
                           else scalar())
            return
        if ins.off in (8, 16, 32):  # movsx
            if src.kind is not Kind.SCALAR:
                raise Reject(f"R{ins.src} sign-extension mov of a pointer")
            self.write_reg(st, dst, scalar(sc.sign_extend(src.var, ins.off, is64)))
            return
        if is64:
            if src.kind is Kind.SCALAR and not src.var.is_const():
                if not src.id:
                    src = src.with_(id=self.new_id())
                    st.regs[ins.src] = src
            self.write_reg(st, dst, src)
            return
        if src.kind is Kind.SCALAR:
            self.write_reg(st, dst, scalar(sc.zext32(src.var.view(32))))
        else:
            self.write_reg(st, dst, scalar(Scalar.urange(0, 0xFFFFFFFF)))

    def _ptr_alu(self, st: State, dst: int, d: Reg, s: Reg, name: str, is64: bool,
                 ins: Instruction) -> None:
        sym = _ALU_SYMBOL[name]
        if Kind.ARENA in (d.kind, s.kind):
            # arena pointers are 32-bit offsets to the kernel: any arithmetic keeps them so
            self.write_reg(st, dst, pointer(Kind.ARENA, var=Scalar.unknown()))
            return
        if d.kind is Kind.BTF_ID and d.var is not None and not d.nullable and s.is_scalar \
                or s.kind is Kind.BTF_ID and d.is_scalar:
            # untyped kernel values (tracing args) take scalar arithmetic, stay probe-read only
            self.write_reg(st, dst, pointer(Kind.BTF_ID, var=Scalar.unknown()))
            return
        if not is64:
            if name == "sub" and self.privileged:
                # 32-bit ops on pointers make (meaningless) scalars; root may subtract
                self.write_reg(st, dst, scalar(Scalar.urange(0, 0xFFFFFFFF)))
                return
            ptr_reg = dst if d.is_ptr else ins.src
            raise Reject(f"R{ptr_reg} 32-bit pointer arithmetic prohibited")
        if d.is_ptr and s.is_ptr:
            if name == "sub" and (self.privileged or d.kind is s.kind):
                # the distance between two pointers is a scalar (root may take any)
                self.write_reg(st, dst, scalar())
                return
            raise Reject(f"R{dst} pointer {sym} pointer prohibited")
        if name not in ("add", "sub"):
            ptr_reg = dst if d.is_ptr else ins.src
            if name in ("and", "or", "xor"):
                raise Reject(f"R{ptr_reg} bitwise operator {sym} on pointer prohibited")
            raise Reject(f"R{ptr_reg} pointer arithmetic with {sym} operator prohibited")
        if s.is_ptr:  # scalar + pointer
            if name == "sub":
                raise Reject(f"R{dst} tried to subtract pointer from scalar")
            d, s = s, d
        ptr, off = d, s
        if ptr.nullable:
            raise Reject(f"R{dst} pointer arithmetic on {ptr.type_name()} prohibited, "
                         "null-check it first")
        if ptr.kind not in (Kind.CTX, Kind.STACK, Kind.PACKET, Kind.PACKET_META,
                            Kind.MAP_VALUE, Kind.MAP_KEY, Kind.MEM, Kind.BTF_ID):
            raise Reject(f"R{dst} pointer arithmetic on {ptr.type_name()} prohibited")
        v = off.var
        if v.is_const():
            delta = sc.to_signed(v.value, 64)
            if name == "sub":
                delta = -delta
            new_off = ptr.off + delta
            if not -(1 << 29) < new_off < (1 << 29):
                raise Reject(f"value {delta} makes {ptr.type_name()} pointer be out of bounds")
            self.write_reg(st, dst, ptr.with_(off=new_off))
            return
        if v.smin == sc.S64_MIN:
            raise Reject(f"math between {ptr.type_name()} pointer and register with unbounded "
                         "min value is not allowed")
        if not -(1 << 29) < v.smin < (1 << 29):
            raise Reject(f"value {v.smin} makes {ptr.type_name()} pointer be out of bounds")
        var = sc.alu(name, ptr.var, v, True)
        new = ptr.with_(var=var)
        if ptr.kind in (Kind.PACKET, Kind.PACKET_META):
            new = new.with_(id=self.new_id(), range=0)
        self.write_reg(st, dst, new)

    # ---- loads and stores --------------------------------------------------------------------
    def ldx(self, st: State, ins: Instruction) -> None:
        mode = ins.opcode & 0xE0
        if mode not in (op.BPF_MEM, op.BPF_MEMSX):
            raise Reject(f"invalid BPF_LDX mode {mode:#x}")
        size = op.SIZE_BYTES[ins.opcode & 0x18]
        self.read(st, ins.src)
        val = self.check_mem(st, ins.src, ins.off, size, False)
        assert val is not None
        if mode == op.BPF_MEMSX and val.kind is Kind.SCALAR:
            val = scalar(sc.sign_extend(val.var, size * 8))
        self.write_reg(st, ins.dst, val)

    def store(self, st: State, ins: Instruction) -> None:
        mode = ins.opcode & 0xE0
        size = op.SIZE_BYTES[ins.opcode & 0x18]
        dst = self.read(st, ins.dst)
        if ins.cls == op.BPF_ST:
            if mode != op.BPF_MEM:
                raise Reject("BPF_ST uses reserved fields")
            v = ins.imm & ((1 << (8 * size)) - 1) if size < 8 else ins.imm & ((1 << 64) - 1)
            if size == 8:
                v = ins.imm & ((1 << 64) - 1)
            self.check_mem(st, ins.dst, ins.off, size, True, const(v))
            return
        src = self.read(st, ins.src)
        if mode == op.BPF_ATOMIC:
            self._atomic(st, ins, size, dst, src)
            return
        if mode != op.BPF_MEM:
            raise Reject(f"BPF_STX uses reserved fields (mode {mode:#x})")
        if dst.kind is Kind.CTX and src.is_ptr and not self.privileged:
            raise Reject(f"R{ins.src} leaks addr into ctx")
        self.check_mem(st, ins.dst, ins.off, size, True, src)

    def _atomic(self, st: State, ins: Instruction, size: int, dst: Reg, src: Reg) -> None:
        if size not in (4, 8):
            raise Reject("invalid atomic operand size")
        if src.is_ptr and not self.privileged:
            raise Reject(f"R{ins.src} leaks addr into mem")
        imm = ins.imm
        self.check_mem(st, ins.dst, ins.off, size, False, atomic=True)
        self.check_mem(st, ins.dst, ins.off, size, True, scalar(), atomic=True)
        if imm == op.BPF_CMPXCHG:
            self.read(st, 0)
            self.write_reg(st, 0, scalar(Scalar.unknown() if size == 8 else
                                         Scalar.urange(0, 0xFFFFFFFF)))
        elif imm & op.BPF_FETCH:
            self.write_reg(st, ins.src, scalar(Scalar.unknown() if size == 8 else
                                               Scalar.urange(0, 0xFFFFFFFF)))

    def lddw(self, st: State, ins: Instruction, slot: int) -> None:
        ref = ins.reference
        src = ins.src
        if isinstance(ref, MapReference) or src in (op.BPF_PSEUDO_MAP_FD, op.BPF_PSEUDO_MAP_VALUE,
                                                    op.BPF_PSEUDO_MAP_IDX,
                                                    op.BPF_PSEUDO_MAP_IDX_VALUE):
            if not isinstance(ref, MapReference):
                raise Reject(f"fd {ins.imm} is not pointing to valid bpf_map")
            ms = self.maps.get(ref.map)
            if ms is None:
                raise Reject(f"map '{ref.map}' is not part of the object")
            if ms.type == MapType.ARENA:
                # an __arena global: an address-space-1 pointer, a number until cast
                self.write_reg(st, ins.dst, scalar())
                return
            if ref.value or src in (op.BPF_PSEUDO_MAP_VALUE, op.BPF_PSEUDO_MAP_IDX_VALUE):
                if not 0 <= ref.offset < max(ms.value_size, 1):
                    raise Reject(f"invalid access to map value pointer, value_size="
                                 f"{ms.value_size} off={ref.offset}")
                self.write_reg(st, ins.dst, pointer(Kind.MAP_VALUE, map=ms, off=ref.offset))
            else:
                self.write_reg(st, ins.dst, pointer(Kind.MAP_PTR, map=ms))
            return
        if src == op.BPF_PSEUDO_FUNC or isinstance(ref, FunctionReference):
            target = slot + 1 + s32(ins.imm)
            self.write_reg(st, ins.dst, pointer(Kind.FUNC, btf=target))
            return
        if isinstance(ref, KconfigReference):
            kc = self.maps.get(".kconfig")
            off = self.kconfig.get(ref.name)
            if kc is not None and kc.data is not None and off is not None:
                self.write_reg(st, ins.dst, pointer(Kind.MAP_VALUE, map=kc, off=off))
            else:
                self.write_reg(st, ins.dst, pointer(Kind.MEM, size=8, rdonly=True))
            return
        if src == op.BPF_PSEUDO_BTF_ID or isinstance(ref, KsymReference):
            self.write_reg(st, ins.dst, pointer(Kind.BTF_ID, var=Scalar.unknown()))
            return
        if src != 0:
            raise Reject(f"invalid BPF_LD_IMM insn (src {src})")
        self.write_reg(st, ins.dst, const(ins.imm))

    def ld_abs(self, st: State, ins: Instruction) -> None:
        mode = ins.opcode & 0xE0
        if mode not in (op.BPF_ABS, op.BPF_IND):
            raise Reject(f"invalid BPF_LD mode {mode:#x}")
        if self.prog_type not in platform.LD_ABS_TYPES:
            raise Reject("BPF_LD_[ABS|IND] instructions not allowed for this program type")
        if st.refs:
            raise Reject("BPF_LD_[ABS|IND] cannot be mixed with socket references")
        if st.lock is not None:
            raise Reject("BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region")
        r6 = self.read(st, 6)
        if r6.kind is not Kind.CTX:
            raise Reject("at the time of BPF_LD_ABS|IND R6 != pointer to skb")
        if mode == op.BPF_IND:
            s = self.read(st, ins.src)
            if s.kind is not Kind.SCALAR:
                raise Reject(f"R{ins.src} type={s.type_name()} expected=scalar")
        size = op.SIZE_BYTES[ins.opcode & 0x18]
        if size == 8:
            raise Reject("BPF_LD_[ABS|IND] uses reserved fields")
        for i in range(1, 6):
            st.regs[i] = NOT_INIT
        st.regs[0] = scalar(Scalar.urange(0, (1 << (8 * size)) - 1))

    # ---- exit -----------------------------------------------------------------------------------
    def do_exit(self, st: State, slot: int) -> list[State]:
        if st.lock is not None:
            raise Reject("bpf_spin_unlock is missing" if len(st.frames) > 1 else
                         "BPF_EXIT instruction in main prog cannot be used inside "
                         "bpf_spin_lock-ed region")
        if st.rcu:
            raise Reject("bpf_rcu_read_unlock is missing")
        if len(st.frames) > 1:
            return self.exit_frame(st, slot)
        r0 = st.regs[0]
        if r0.kind is Kind.NOT_INIT and self.prog_type != ProgramType.STRUCT_OPS:
            raise Reject("R0 !read_ok")
        if st.refs:
            ref, at = next(iter(st.refs.items()))
            raise Reject(f"Unreleased reference id={ref} alloc_insn={at}")
        rng = platform.return_range(self.prog_type, self.attach_type)
        if rng is not None:
            if r0.kind is not Kind.SCALAR:
                raise Reject(f"At program exit the register R0 is not a known value "
                             f"({r0.type_name()})")
            v = r0.var
            if v.smin < rng[0] or v.smax > rng[1]:
                raise Reject(f"At program exit the register R0 has {_range_text(v)} should have "
                             f"been in [{rng[0]}, {rng[1]}]")
        return []


def _range_text(v: Scalar) -> str:
    if v.is_const():
        return f"R0={v}"
    return f"smin={v.smin} smax={v.smax}"


def elapsed_us(start: float) -> int:
    return int((time.perf_counter() - start) * 1e6)
