"""IR for memory access: every load, store and atomic is bounds-checked.

Each (base register, size, direction) has a one-entry cache of the last region
it hit: ``(lo, lim, delta)``, valid when ``addr - lo < lim`` (one unsigned
compare); then the host address is ``addr + delta``. A miss calls
``@rt_access``: a search of the run's region tables in generated code
(``@rt_find``), and what the tables cannot serve goes to Python through the
trampoline (faults with the other executors' messages, per-field context write
checks, probe reads of nothing).
"""

from __future__ import annotations

from ...isa import opcodes as op
from ..run import STACK_SIZE
from . import layout as L
from .irbase import Emitter, signed


def _ret4(stem: str, values: tuple[str, str, str, str]) -> str:
    """IR returning ``values`` as @rt_access's {i64, i64, i64, i64}, built in
    %<stem>0..3."""
    agg, lines = "undef", []
    for i, v in enumerate(values):
        lines.append(f"  %{stem}{i} = insertvalue {{i64, i64, i64, i64}} {agg}, i64 {v}, {i}")
        agg = f"%{stem}{i}"
    return "\n".join([*lines, f"  ret {{i64, i64, i64, i64}} {agg}"])


#: the region search every module carries: locals linearly, then a binary
#: search of the sorted globals; returns the entry's address or 0
RUNTIME = f"""
declare i16 @llvm.bswap.i16(i16)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)
declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)

define internal i64 @rt_find(ptr %st, i64 %a, i64 %size, i64 %need) noinline {{
entry:
  %e = add i64 %a, %size
  %nowrap = icmp ugt i64 %e, %a
  br i1 %nowrap, label %lin0, label %none
lin0:
  %ltp = getelementptr i64, ptr %st, i64 {L.LOCAL_TAB}
  %lti = load i64, ptr %ltp
  %lt = inttoptr i64 %lti to ptr
  %lnp = getelementptr i64, ptr %st, i64 {L.LOCAL_N}
  %ln = load i64, ptr %lnp
  br label %lin
lin:
  %i = phi i64 [0, %lin0], [%i1, %lnext]
  %ldone = icmp uge i64 %i, %ln
  br i1 %ldone, label %bs0, label %lbody
lbody:
  %lw = mul i64 %i, {L.ENTRY_WORDS}
  %lent = getelementptr i64, ptr %lt, i64 %lw
  %lb = load i64, ptr %lent
  %lep = getelementptr i64, ptr %lent, i64 1
  %lend = load i64, ptr %lep
  %lc1 = icmp ule i64 %lb, %a
  %lc2 = icmp ule i64 %e, %lend
  %lc = and i1 %lc1, %lc2
  br i1 %lc, label %lfound, label %lnext
lfound:
  %lfp = getelementptr i64, ptr %lent, i64 3
  %lf = load i64, ptr %lfp
  %lok = icmp uge i64 %lf, %need
  br i1 %lok, label %lret, label %none
lret:
  %lr = ptrtoint ptr %lent to i64
  ret i64 %lr
lnext:
  %i1 = add i64 %i, 1
  br label %lin
bs0:
  %gtp = getelementptr i64, ptr %st, i64 {L.GLOBAL_TAB}
  %gti = load i64, ptr %gtp
  %gt = inttoptr i64 %gti to ptr
  %gnp = getelementptr i64, ptr %st, i64 {L.GLOBAL_N}
  %gn = load i64, ptr %gnp
  br label %bs
bs:
  %lo = phi i64 [0, %bs0], [%lo1, %bstep]
  %hi = phi i64 [%gn, %bs0], [%hi1, %bstep]
  %more = icmp ult i64 %lo, %hi
  br i1 %more, label %bbody, label %bend
bbody:
  %sum = add i64 %lo, %hi
  %mid = lshr i64 %sum, 1
  %mw = mul i64 %mid, {L.ENTRY_WORDS}
  %ment = getelementptr i64, ptr %gt, i64 %mw
  %mb = load i64, ptr %ment
  %le = icmp ule i64 %mb, %a
  %mid1 = add i64 %mid, 1
  %lo1 = select i1 %le, i64 %mid1, i64 %lo
  %hi1 = select i1 %le, i64 %hi, i64 %mid
  br label %bstep
bstep:
  br label %bs
bend:
  %any = icmp ugt i64 %lo, 0
  br i1 %any, label %gchk, label %none
gchk:
  %j = sub i64 %lo, 1
  %jw = mul i64 %j, {L.ENTRY_WORDS}
  %gent = getelementptr i64, ptr %gt, i64 %jw
  %gep = getelementptr i64, ptr %gent, i64 1
  %gend = load i64, ptr %gep
  %gc = icmp ule i64 %e, %gend
  %gfp = getelementptr i64, ptr %gent, i64 3
  %gf = load i64, ptr %gfp
  %gok = icmp uge i64 %gf, %need
  %gall = and i1 %gc, %gok
  br i1 %gall, label %gret, label %none
gret:
  %gr = ptrtoint ptr %gent to i64
  ret i64 %gr
none:
  ret i64 0
}}

define internal {{i64, i64, i64, i64}} @rt_access(ptr %st, i64 %a, i64 %size, i64 %kind,
                                                 i64 %pc, i64 %depth) noinline {{
entry:
  %isw = icmp eq i64 %kind, {L.MEM_WRITE}
  %need = zext i1 %isw to i64
  %ent = call i64 @rt_find(ptr %st, i64 %a, i64 %size, i64 %need)
  %found = icmp ne i64 %ent, 0
  br i1 %found, label %hit, label %slow
hit:
  %ep = inttoptr i64 %ent to ptr
  %lo = load i64, ptr %ep
  %hip = getelementptr i64, ptr %ep, i64 1
  %hi = load i64, ptr %hip
  %dp = getelementptr i64, ptr %ep, i64 2
  %d = load i64, ptr %dp
  %h = add i64 %a, %d
  %elp = getelementptr i64, ptr %ep, i64 4
  %el = load i64, ptr %elp
  %ise = icmp ne i64 %el, 0
  br i1 %ise, label %elem, label %plain
elem:
  %vs = and i64 %el, 4294967295
  %sd = lshr i64 %el, 32
  %off = sub i64 %a, %lo
  %eo = urem i64 %off, %sd
  %ee = add i64 %eo, %size
  %fits = icmp ule i64 %ee, %vs
  br i1 %fits, label %elive, label %slow
elive:
  %lvp = getelementptr i64, ptr %ep, i64 5
  %lv = load i64, ptr %lvp
  %nolv = icmp eq i64 %lv, 0
  br i1 %nolv, label %eok, label %echk
echk:
  %idx = udiv i64 %off, %sd
  %lvq = add i64 %lv, %idx
  %lvpp = inttoptr i64 %lvq to ptr
  %lb = load i8, ptr %lvpp
  %alive = icmp eq i8 %lb, 1
  br i1 %alive, label %eok, label %slow
eok:
  %elo = sub i64 %a, %eo
  %elim0 = sub i64 %vs, %size
  %elim = add i64 %elim0, 1
{_ret4("q", ("%h", "%elo", "%elim", "%d"))}
plain:
  %span = sub i64 %hi, %lo
  %lim0 = sub i64 %span, %size
  %lim = add i64 %lim0, 1
{_ret4("r", ("%h", "%lo", "%lim", "%d"))}
slow:
  %tpp = getelementptr i64, ptr %st, i64 {L.TRAMPOLINE}
  %tp = load i64, ptr %tpp
  %fn = inttoptr i64 %tp to ptr
  %hs = call i64 %fn(ptr %st, i64 {signed(L.OP_MEMORY, 64)}, i64 %pc, i64 %depth, i64 %kind,
                     i64 %a, i64 %size, i64 0, i64 0, i64 0)
{_ret4("s", ("%hs", "0", "0", "0"))}
}}
"""


class MemoryEmitter(Emitter):
    """Checked memory access."""

    def _host(self, base: int, off: int, size: int, kind: int, pc: int) -> tuple[str, str]:
        """Resolve ``r<base> + off`` (size bytes) to a host pointer; returns
        (ptr, host address as i64). For probe reads the address may be 0
        (nothing there: read as 0). An access at a constant offset from r10
        inside the frame is in the stack by construction (the frame is
        ``[r10 - STACK_SIZE, r10)`` and the depth is checked at function
        entry): it takes no check."""
        if base == 10 and -STACK_SIZE <= off and off + size <= 0:
            h = self.let(f"add i64 %fp, {off}")
            hh = self.let(f"add i64 {h}, %sdelta")
            p = self.let(f"inttoptr i64 {hh} to ptr")
            return p, hh
        a0 = self.reg(base)
        a = self.let(f"add i64 {a0}, {off}")
        c = ("w" if kind == L.MEM_WRITE else "r") + str(size)
        self.cached.add(f"{c}_{base}")
        lo, lim = self.tmp(), self.tmp()
        self.e(f"{lo} = load i64, ptr %{c}lo_{base}")
        self.e(f"{lim} = load i64, ptr %{c}lim_{base}")
        dd = self.let(f"sub i64 {a}, {lo}")
        ok = self.let(f"icmp ult i64 {dd}, {lim}")
        hit, miss, done = self.label("hit"), self.label("miss"), self.label("got")
        self.e(f"br i1 {ok}, label %{hit}, label %{miss}, !prof !0")
        self.block(miss)
        res = self.let(f"call {{i64, i64, i64, i64}} @rt_access(ptr %st, i64 {a}, i64 {size}, "
                       f"i64 {kind}, i64 {pc}, i64 %depth)")
        vals = []
        for i in range(4):
            v = self.let(f"extractvalue {{i64, i64, i64, i64}} {res}, {i}")
            vals.append(v)
        self.e(f"store i64 {vals[1]}, ptr %{c}lo_{base}")
        self.e(f"store i64 {vals[2]}, ptr %{c}lim_{base}")
        self.e(f"store i64 {vals[3]}, ptr %{c}d_{base}")
        if kind == L.MEM_PROBE:
            s = self.let("load i64, ptr %stp")
            bad = self.let(f"icmp ne i64 {s}, 0")
        else:
            bad = self.let(f"icmp eq i64 {vals[0]}, 0")
        self.e(f"br i1 {bad}, label %bail, label %{done}")
        self.block(hit)
        d = self.let(f"load i64, ptr %{c}d_{base}")
        h1 = self.let(f"add i64 {a}, {d}")
        self.e(f"br label %{done}")
        self.block(done)
        h = self.let(f"phi i64 [{h1}, %{hit}], [{vals[0]}, %{miss}]")
        p = self.let(f"inttoptr i64 {h} to ptr")
        return p, h

    def _load(self, p: str, bits: int, ext: str) -> str:
        v = self.let(f"load i{bits}, ptr {p}, align 1")
        if bits == 64:
            return v
        return self.let(f"{ext} i{bits} {v} to i64")

    def _atomic(self, ins, size: int, pc: int) -> None:
        bits = size * 8
        t = f"i{bits}"
        aop = ins.imm
        p, h = self._host(ins.dst, ins.off, size, L.MEM_WRITE, pc)
        src = self.reg(ins.src)
        sv = src
        if bits < 64:
            sv = self.let(f"trunc i64 {src} to {t}")
        # misaligned host addresses take a plain read-modify-write (an atomic
        # instruction may trap there on some CPUs); the others are LLVM atomics
        mis = self.let(f"and i64 {h}, {size - 1}")
        isal = self.let(f"icmp eq i64 {mis}, 0")
        at, pl, j = self.label("at"), self.label("pl"), self.label("aj")
        if aop == op.BPF_CMPXCHG:
            r0 = self.reg(0)
            exp = r0
            if bits < 64:
                exp = self.let(f"trunc i64 {r0} to {t}")
        self.e(f"br i1 {isal}, label %{at}, label %{pl}")
        if aop == op.BPF_CMPXCHG:
            self.block(at)
            pair = self.let(f"cmpxchg ptr {p}, {t} {exp}, {t} {sv} seq_cst seq_cst, align {size}")
            old1 = self.let(f"extractvalue {{ {t}, i1 }} {pair}, 0")
            self.e(f"br label %{j}")
            self.block(pl)
            old2 = self.let(f"load {t}, ptr {p}, align 1")
            eq = self.let(f"icmp eq {t} {old2}, {exp}")
            nv = self.let(f"select i1 {eq}, {t} {sv}, {t} {old2}")
            self.e(f"store {t} {nv}, ptr {p}, align 1")
            self.e(f"br label %{j}")
            self.block(j)
            old = self.let(f"phi {t} [{old1}, %{at}], [{old2}, %{pl}]")
            self.setreg(0, old if bits == 64 else self._zext(old))
            return
        base = aop & ~op.BPF_FETCH
        if aop == op.BPF_XCHG:
            rmw, plain = "xchg", None
        else:
            rmw = {op.BPF_ADD: "add", op.BPF_OR: "or", op.BPF_AND: "and",
                   op.BPF_XOR: "xor"}[base]
            plain = rmw
        self.block(at)
        old1 = self.let(f"atomicrmw {rmw} ptr {p}, {t} {sv} seq_cst, align {size}")
        self.e(f"br label %{j}")
        self.block(pl)
        old2 = self.let(f"load {t}, ptr {p}, align 1")
        if plain is None:
            nv = sv
        else:
            nv = self.let(f"{plain} {t} {old2}, {sv}")
        self.e(f"store {t} {nv}, ptr {p}, align 1")
        self.e(f"br label %{j}")
        self.block(j)
        old = self.let(f"phi {t} [{old1}, %{at}], [{old2}, %{pl}]")
        if aop == op.BPF_XCHG or aop & op.BPF_FETCH:
            self.setreg(ins.src, old if bits == 64 else self._zext(old))
