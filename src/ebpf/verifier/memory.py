"""Memory access rules: what a load or store through each pointer kind may
touch (context fields, stack slots, packet range, map value bounds, helper
memory), and what a load yields (spilled registers, context pointers,
read-only map constants).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..btf.kptr import KptrField, kptr_fields
from ..errors import Error
from . import platform
from . import tnum as tn
from .scalar import Scalar, to_signed
from .state import SPILLED, Slot, State, slot_mask
from .types import Kind, Reg, Reject, const, pointer, scalar

if TYPE_CHECKING:
    from .cfg import CFG

MAX_PACKET_OFF = 0xFFFF
MAX_VAR_OFF = 1 << 29
_RDONLY_PROG = 1 << 7


def map_readonly(ms) -> bool:
    return bool(ms.flags & _RDONLY_PROG) or ms.freeze or ms.section in (".rodata", ".kconfig") \
        or ms.section.startswith(".rodata.")


def spin_lock_offset(ms) -> int | None:
    """Offset of the ``struct bpf_spin_lock`` in the map's value type, if any."""
    t = ms.value_type
    seen = 0
    while t is not None and not hasattr(t, "members") and seen < 10:
        t = getattr(t, "type", None)
        seen += 1
    for m in getattr(t, "members", None) or ():
        mt = m.type
        for _ in range(10):
            if getattr(mt, "name", "") == "bpf_spin_lock":
                # BTF members' offsets are in bits
                off = getattr(m, "offset", None)
                return (getattr(m, "bit_offset", 0) if off is None else off) // 8
            if not hasattr(mt, "type") or hasattr(mt, "members"):
                break
            mt = mt.type
    return None


class RuleBase:
    """What the rule mixins share: the program's facts and id/depth bookkeeping."""

    prog_type: platform.PT
    ctx_layout: platform.CtxLayout
    privileged: bool
    license: str
    cfg: CFG
    btf: Any
    _next_id: int
    depth: dict[int, int]
    calls: dict[int, set[int]]
    callback_starts: set[int]

    def read(self, st: State, regno: int) -> Reg:
        """Register ``regno`` of ``st``, which the instruction reads: it must be set."""
        if regno > 10:
            raise Reject(f"R{regno} is invalid")
        r = st.regs[regno]
        if r.kind is Kind.NOT_INIT:
            raise Reject(f"R{regno} !read_ok")
        return r

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def note_depth(self, st: State, frame: int, depth: int) -> None:
        f = st.frames[frame]
        if depth > f.depth:
            f.depth = depth
        sp = f.subprog
        if depth > self.depth.get(sp, 0):
            self.depth[sp] = depth

    def note_call(self, caller: int, callee: int) -> None:
        self.calls.setdefault(caller, set()).add(callee)


class MemoryRules(RuleBase):
    """Load/store checks (a base of :class:`~ebpf.verifier.checker.Verifier`)."""

    def _var_bounds(self, reg: Reg, regno: int, what: str) -> tuple[int, int]:
        v = reg.var
        assert v is not None
        if v.smin < -MAX_VAR_OFF or v.smax > MAX_VAR_OFF:
            raise Reject(f"R{regno} unbounded memory access, make sure to bounds check any "
                         "such access")
        return v.smin, v.smax

    # ---- the entry point --------------------------------------------------------
    def check_mem(self, st: State, regno: int, off: int, size: int, write: bool,
                  value: Reg | None = None, atomic: bool = False) -> Reg | None:
        """Check an access of ``size`` bytes at ``reg + off``; return what a load yields."""
        reg = st.regs[regno]
        kind = reg.kind
        if kind is Kind.NOT_INIT:
            raise Reject(f"R{regno} !read_ok")
        if reg.nullable or kind in (Kind.SCALAR, Kind.PACKET_END, Kind.MAP_PTR, Kind.FUNC,
                                    Kind.CONST_STR):
            raise Reject(f"R{regno} invalid mem access '{reg.type_name()}'")
        if kind is Kind.ARENA:
            # the kernel JIT makes these PROBE_MEM32 accesses: any offset, a fault reads 0
            return scalar(_load_range(size))
        if atomic and kind not in (Kind.STACK, Kind.MAP_VALUE, Kind.MEM):
            raise Reject(f"BPF_ATOMIC stores into R{regno} {reg.type_name()} is not allowed")
        if kind is Kind.STACK:
            return self._stack_access(st, reg, regno, off, size, write, value)
        if kind is Kind.CTX:
            return self._ctx_access(reg, regno, off, size, write, value)
        if kind in (Kind.PACKET, Kind.PACKET_META):
            return self._packet_access(reg, regno, off, size, write)
        if kind is Kind.MAP_VALUE:
            return self._map_value_access(reg, regno, off, size, write, value, atomic)
        if kind in (Kind.MEM, Kind.MAP_KEY):
            lo, hi = self._var_bounds(reg, regno, "mem")
            start, end = reg.off + off + lo, reg.off + off + hi + size
            if start < 0 or end > reg.size:
                raise Reject(f"invalid access to memory, mem_size={reg.size} off={reg.off + off + lo}"
                             f" size={size}")
            if write and (reg.rdonly or kind is Kind.MAP_KEY):
                raise Reject(f"R{regno} cannot write into {reg.type_name()}")
            return scalar(_load_range(size))
        if kind is Kind.BTF_ID:
            if write:
                self._btf_write(reg, regno, off, size)
                return None
            typed = self._btf_struct_access(reg, regno, off, size)
            if typed is not None:
                return typed
            if size == 8:
                return pointer(Kind.BTF_ID, var=Scalar.unknown())
            return scalar(_load_range(size))
        if kind in (Kind.SOCKET, Kind.SOCK_COMMON, Kind.TCP_SOCK):
            if write:
                raise Reject(f"R{regno} cannot write into {reg.type_name()}")
            o = reg.off + off
            if o < 0 or o + size > 120 or not reg.var or not reg.var.is_const():
                raise Reject(f"R{regno} invalid {reg.type_name()} access off={o} size={size}")
            return scalar(_load_range(size))
        raise Reject(f"R{regno} invalid mem access '{reg.type_name()}'")

    # ---- typed kernel pointers ----------------------------------------------------------
    def _kernel_struct(self, name: str) -> Any:
        """The kernel's struct or union ``name`` (from its BTF), or None."""
        cache = self.__dict__.setdefault("_kstructs", {})
        if name in cache:
            return cache[name]
        found = None
        try:
            from .. import btf as B

            spec = getattr(self, "kernel_btf", None)
            if spec is None:
                spec = self.kernel_btf = B.load_kernel_btf()
            for t in spec.types_by_name(name):
                if isinstance(t, B.Composite) and t.size:
                    found = t
                    break
        except (Error, OSError):
            found = None  # no kernel BTF here: typed pointers are not checked
        cache[name] = found
        return found

    def _btf_write(self, reg: Reg, regno: int, off: int, size: int) -> None:
        """A store through a kernel object pointer: only into the members the
        kernel lets programs write (``platform.BTF_WRITABLE``)."""
        members = platform.BTF_WRITABLE.get(reg.btf) if isinstance(reg.btf, str) else None
        # struct X___init wraps struct X at offset 0: the same layout
        t: Any = self._kernel_struct(reg.btf.removesuffix("___init")) if members else None
        if not members or t is None or reg.var is None or not reg.var.is_const():
            raise Reject(f"only read is supported (R{regno} {reg.type_name()})")
        from .. import btf as B

        o = reg.off + off + to_signed(reg.var.value, 64)
        for name in members:
            m = t.member(name)
            start = m.offset // 8
            end = start + getattr(B.resolve(m.type), "size", 0)
            if o == start:
                if o + size > end:
                    raise Reject(f"write access at off {o} with size {size} beyond the member "
                                 f"of {reg.btf} ended at {end}")
                return
        raise Reject(f"no write support to {reg.btf} at off {o}")

    def _btf_struct_access(self, reg: Reg, regno: int, off: int, size: int) -> Reg | None:
        """A read through a pointer to a kernel struct the BTF describes, checked
        against its layout as the kernel's btf_struct_access: inside the struct,
        and a pointer member to a named struct reads as a typed pointer. None when
        the pointer's type is not known."""
        if not isinstance(reg.btf, str) or reg.var is None or not reg.var.is_const():
            return None
        t = self._kernel_struct(reg.btf)
        if t is None:
            return None
        o = reg.off + off + to_signed(reg.var.value, 64)
        if o < 0:
            raise Reject(f"R{regno} is ptr_{reg.btf} invalid negative access: off={o}")
        from .. import btf as B

        if o + size > t.size:
            # as the kernel: a trailing flexible array (`u64 cpu_bitmap[];`) may be
            # read past the struct's size
            last = t.members[-1] if t.members else None
            lt = B.resolve(last.type) if last is not None else None
            if not (isinstance(lt, B.Array) and lt.nelems == 0 and last is not None
                    and o >= last.offset // 8):
                raise Reject(f"access beyond struct {reg.btf} at off {o} size {size}")
            return scalar(_load_range(size)) if size != 8 else \
                pointer(Kind.BTF_ID, var=Scalar.unknown())
        if size != 8:
            return scalar(_load_range(size))

        member = _member_at(B, t, o)
        if member is not None:
            kind = pointer_kind(B, member)
            if isinstance(kind, str):
                return pointer(Kind.BTF_ID, btf=kind)
            if kind is False:
                return scalar(_load_range(size))
        return pointer(Kind.BTF_ID, var=Scalar.unknown())

    # ---- per kind -------------------------------------------------------------------
    def _ctx_access(self, reg: Reg, regno: int, off: int, size: int, write: bool,
                    value: Reg | None) -> Reg | None:
        if reg.var is not None and not reg.var.is_const():
            raise Reject(f"variable ctx access var_off={reg.var} disallowed")
        if reg.off or not (reg.var is not None and reg.var.value == 0):
            raise Reject(f"dereference of modified ctx ptr R{regno} off={reg.off} disallowed")
        layout = self.ctx_layout
        if off < 0 or off + size > layout.size:
            raise Reject(f"invalid bpf_context access off={off} size={size}")
        if layout.raw:
            if size not in layout.sizes or off % size:
                raise Reject(f"invalid bpf_context access off={off} size={size}")
            if write:
                if not layout.writable:
                    raise Reject(f"invalid bpf_context access off={off} size={size}")
                return None
            if layout.btf_args and size == 8:
                args = getattr(self, "ctx_args", None)
                if args is not None and off // 8 < len(args):
                    arg = args[off // 8]
                    if arg is False:
                        return scalar(_load_range(size))  # an int argument
                    if isinstance(arg, str):
                        return pointer(Kind.BTF_ID, btf=arg)  # a typed kernel pointer
                return pointer(Kind.BTF_ID, var=Scalar.unknown())
            return scalar(_load_range(size))
        for f in layout.fields:
            if f.off <= off and off + size <= f.off + f.size:
                break
        else:
            raise Reject(f"invalid bpf_context access off={off} size={size}")
        if size != f.size and (not f.narrow or f.kind or write):
            raise Reject(f"invalid bpf_context access off={off} size={size}")
        if write:
            if not f.write:
                raise Reject(f"invalid bpf_context access off={off} size={size}")
            if value is not None and value.kind is not Kind.SCALAR:
                raise Reject(f"R{regno} invalid bpf_context access off={off} size={size}")
            return None
        if f.kind == "pkt":
            return pointer(Kind.PACKET, id=0, range=0)
        if f.kind == "pkt_end":
            return pointer(Kind.PACKET_END)
        if f.kind == "pkt_meta":
            return pointer(Kind.PACKET_META, range=0)
        if f.kind == "sock?":
            return pointer(Kind.SOCK_COMMON, nullable=True, id=self.new_id())
        if f.kind == "flow_keys":
            return pointer(Kind.MEM, size=56)
        if f.kind == "btf":
            return pointer(Kind.BTF_ID, var=Scalar.unknown())
        return scalar(_load_range(size))

    def _packet_access(self, reg: Reg, regno: int, off: int, size: int,
                       write: bool) -> Reg:
        if write and not platform.PACKET_WRITE.get(self.prog_type, False):
            raise Reject("cannot write into packet")
        v = reg.var
        assert v is not None
        if v.smin < 0:
            raise Reject(f"R{regno} min value is negative, either use unsigned index or do a if "
                         "(index >=0) check.")
        if v.umax >= MAX_PACKET_OFF or reg.off + off + v.umax >= MAX_PACKET_OFF:
            raise Reject(f"R{regno} unbounded memory access, make sure to bounds check any "
                         "such access")
        lo = reg.off + off
        if lo < 0 or lo + size > reg.range:
            raise Reject(f"invalid access to packet, off={lo} size={size}, "
                         f"R{regno}(id={reg.id},off={reg.off},r={reg.range})\n"
                         f"R{regno} offset is outside of the packet")
        return scalar(_load_range(size))

    def _map_value_access(self, reg: Reg, regno: int, off: int, size: int,
                          write: bool, value: Reg | None = None, atomic: bool = False
                          ) -> Reg | None:
        ms = reg.map
        vs = ms.value_size
        v = reg.var
        assert v is not None
        if not v.is_const():
            if v.smin + reg.off + off < 0:
                raise Reject(f"R{regno} min value is negative, either use unsigned index or do "
                             "a if (index >=0) check.")
            if v.umax >= MAX_VAR_OFF:
                raise Reject(f"R{regno} unbounded memory access, make sure to bounds check any "
                             "such access")
        lo = reg.off + off + to_signed(v.smin if not v.is_const() else v.value, 64)
        hi = reg.off + off + (v.umax if not v.is_const() else v.value) + size
        if lo < 0 or hi > vs:
            if v.is_const():
                raise Reject(f"invalid access to map value, value_size={vs} off={lo} size={size}")
            raise Reject(f"invalid access to map value, value_size={vs} off={lo} size={size}\n"
                         f"R{regno} max value is outside of the allowed memory range")
        if write and (map_readonly(ms) or reg.rdonly):
            raise Reject(f"write into map forbidden, value_size={vs} off={lo} size={size}")
        lock = spin_lock_offset(ms)
        if lock is not None and lo < lock + 4 and hi > lock:
            raise Reject("bpf_spin_lock cannot be accessed directly by load/store")
        for f in kptr_fields(ms.value_type):
            if lo < f.offset + 8 and hi > f.offset:
                return self._kptr_access(regno, f, lo, size, v.is_const(), write, value, atomic)
        if not write and v.is_const() and ms.data is not None and map_readonly(ms):
            data = ms.data.ljust(vs, b"\0")
            return const(int.from_bytes(data[lo:lo + size], "little"))
        return scalar(_load_range(size))

    def _kptr_access(self, regno: int, f: KptrField, lo: int, size: int, const_off: bool,
                     write: bool, value: Reg | None, atomic: bool) -> Reg | None:
        """A load or store of a kptr field of a map value (check_map_kptr_access):
        8 bytes at its offset; a load gives a possibly-NULL pointer to its struct, a
        store (of an untrusted kptr only) NULL or a pointer to that struct."""
        name = "percpu_kptr" if f.tag == "percpu_kptr" else "kptr"
        if not const_off:
            raise Reject(f"{name} access cannot have variable offset")
        if lo != f.offset:
            raise Reject(f"{name} access misaligned expected={f.offset} off={lo}")
        if size != 8:
            raise Reject(f"{name} access size must be BPF_DW")
        if atomic:
            raise Reject("kptr in map can only be accessed using BPF_LDX/BPF_STX/BPF_ST")
        if not write:
            return pointer(Kind.BTF_ID, nullable=True, id=self.new_id(), btf=f.struct)
        if f.referenced:
            raise Reject("store to referenced kptr disallowed")
        if value is not None and not value.is_const(0) and not (
                value.kind is Kind.BTF_ID and value.btf == f.struct):
            raise Reject(f"invalid kptr access, R{regno} type={value.type_name()} "
                         f"expected=ptr_{f.struct}")
        return None

    # ---- stack --------------------------------------------------------------------------
    def stack_range(self, reg: Reg, regno: int, off: int, size: int,
                    what: str) -> tuple[int, int]:
        """Byte range ``[lo, hi)`` relative to fp an access may touch (checked in bounds)."""
        v = reg.var
        assert v is not None
        if v.is_const():
            lo = reg.off + off + to_signed(v.value, 64)
            hi = lo + size
        else:
            if v.smin < -MAX_VAR_OFF or v.smax > MAX_VAR_OFF:
                raise Reject(f"invalid unbounded variable-offset{what} stack R{regno}")
            lo = reg.off + off + v.smin
            hi = reg.off + off + v.smax + size
            if lo < -512 or hi > 0:
                raise Reject(f"invalid variable-offset{what} stack R{regno} var_off={v} "
                             f"off={reg.off + off} size={size}")
        if lo < -512 or hi > 0 or size <= 0 and lo == hi == 0:
            raise Reject(f"invalid{what} stack R{regno} off={reg.off + off} size={size}")
        return lo, hi

    def _stack_access(self, st: State, reg: Reg, regno: int, off: int, size: int,
                      write: bool, value: Reg | None) -> Reg | None:
        frame = st.frames[reg.frame]
        lo, hi = self.stack_range(reg, regno, off, size,
                                  " write to" if write else " read from")
        fixed = reg.var is not None and reg.var.is_const()
        if (reg.off + off + (reg.var.value if fixed else 0)) % size or \
                not reg.var.var.is_aligned(size):
            raise Reject(f"misaligned stack access off {reg.var.var}+{reg.off}+{off} size {size}")
        self.note_depth(st, reg.frame, -lo)
        if write:
            if fixed:
                stack_write(frame, lo, size, value)
                if size == 8:   # aligned: a whole slot, whose past no longer matters
                    st.mark_written(reg.frame, _slot_of(lo)[0])
            else:
                stack_clobber(frame, lo, hi)
            return None
        st.mark_read(reg.frame, slot_mask(lo, hi))
        if fixed:
            return stack_read(frame, lo, size, self.privileged)
        for b in range(lo, hi):
            if byte_type(frame, b) == "i" and not self.privileged:
                raise Reject(f"invalid variable-offset read from stack R{regno} "
                             f"var_off={reg.var} off={reg.off + off} size={size}")
        return scalar(_load_range(size))


# ---- stack slot helpers ------------------------------------------------------------
def _slot_of(byte_off: int) -> tuple[int, int]:
    """(slot index, byte index inside the slot) of a negative fp offset."""
    pos = -byte_off - 1           # fp-1 -> 0
    idx = pos // 8
    inner = 7 - pos % 8           # byte order inside the slot: fp-8 is byte 0
    return idx, inner


def byte_type(frame, byte_off: int) -> str:
    idx, inner = _slot_of(byte_off)
    return _plain(frame.stack[idx])[inner]


def stack_write(frame, lo: int, size: int, value: Reg | None) -> None:
    idx, inner = _slot_of(lo)
    if size == 8 and inner == 0 and value is not None and value.kind is not Kind.NOT_INIT:
        frame.stack[idx] = Slot(SPILLED, value)
        return
    if value is not None and value.is_ptr:
        raise Reject(f"invalid size of register spill ({size} bytes of {value.type_name()})")
    if inner == 0 and value is not None and value.kind is Kind.SCALAR and value.var is not None:
        # a narrow spill of a scalar keeps its value (the kernel's save_register_state)
        old = frame.stack[idx]
        rest = _plain(old)[size:]
        v = value.var
        if v.umax >> (8 * size):
            value = scalar(Scalar(tn.cast(v.var, size)).sync())
        frame.stack[idx] = Slot("s" * size + rest, value.with_(id=0))
        return
    mark = "z" if value is not None and value.is_const(0) else "m"
    _mark_bytes(frame, lo, lo + size, mark)


def _plain(slot: Slot) -> str:
    """The slot's bytes with a spill turned into plain misc/zero bytes."""
    if slot.spill is None:
        return slot.bytes_
    keep = "z" if slot.spill.is_const(0) else "m"
    return slot.bytes_.replace("s", keep)


def _mark_bytes(frame, lo: int, hi: int, mark: str | None) -> None:
    """Set bytes [lo, hi) to ``mark`` (None: keep initialised bytes, break spills)."""
    b = lo
    while b < hi:
        idx, _ = _slot_of(b)
        slot = frame.stack[idx]
        chars = list(_plain(slot))  # a partial overwrite turns a spill into plain bytes
        slot_lo = -(idx + 1) * 8
        for i in range(max(b, slot_lo) - slot_lo, min(hi, slot_lo + 8) - slot_lo):
            if mark is not None:
                chars[i] = mark
        frame.stack[idx] = Slot("".join(chars), None)
        b = slot_lo + 8


def stack_clobber(frame, lo: int, hi: int) -> None:
    """A write at a variable offset: initialised bytes stay misc, spills break."""
    _mark_bytes(frame, lo, hi, None)
    b = lo
    while b < hi:
        idx, _ = _slot_of(b)
        s = frame.stack[idx]
        frame.stack[idx] = Slot(s.bytes_.replace("z", "m"), None)
        b = -(idx + 1) * 8 + 8


def stack_mark_written(frame, lo: int, hi: int) -> None:
    """A helper wrote [lo, hi): those bytes now hold some scalar."""
    _mark_bytes(frame, lo, hi, "m")


def stack_read(frame, lo: int, size: int, uninit_ok: bool = False) -> Reg:
    idx, inner = _slot_of(lo)
    slot = frame.stack[idx]
    sp = slot.spill
    if sp is not None and inner == 0:
        n = slot.bytes_.count("s")
        if size == n:
            return sp
        if size < n and sp.kind is Kind.SCALAR and sp.var is not None and sp.var.is_const():
            return const(sp.var.value & ((1 << (8 * size)) - 1))
    zero = True
    for b in range(lo, lo + size):
        i2, in2 = _slot_of(b)
        t = _plain(frame.stack[i2])[in2]
        if t == "i":
            if not uninit_ok:
                raise Reject(f"invalid read from stack off {lo}+{b - lo} size {size}")
            zero = False
        if t != "z":
            zero = False
    return const(0) if zero else scalar(_load_range(size))


def stack_check_init(frame, lo: int, hi: int, regno: int, uninit_ok: bool = False) -> None:
    if uninit_ok:
        return
    for b in range(lo, hi):
        if byte_type(frame, b) == "i":
            raise Reject(f"invalid indirect read from stack R{regno} off {lo}+{b - lo} "
                         f"size {hi - lo}")


_LOAD_RANGES: dict[int, Scalar] = {}


def _load_range(size: int) -> Scalar:
    """What a load of ``size`` bytes of unknown memory yields (shared: scalars held
    by registers are never changed in place)."""
    if size >= 8:
        return Scalar.unknown()
    r = _LOAD_RANGES.get(size)
    if r is None:
        r = _LOAD_RANGES[size] = Scalar.urange(0, (1 << (8 * size)) - 1)
    return r


def _member_at(B: Any, t: Any, off: int, depth: int = 0) -> Any:
    """The type of the (innermost) member of composite ``t`` starting at byte ``off``
    and at least 8 bytes wide, or None (padding, bitfields, arrays of them)."""
    if depth > 8:
        return None
    for m in t.members:
        if m.bitfield_size or m.offset % 8:
            continue
        start = m.offset // 8
        mt = B.resolve(m.type)
        try:
            msize = B.sizeof(mt)
        except Error:
            continue
        if not start <= off < start + msize:
            continue
        if isinstance(mt, B.Composite):
            return _member_at(B, mt, off - start, depth + 1)
        if isinstance(mt, B.Array):
            return None
        return mt if off == start else None
    return None


def pointer_kind(B: Any, t: Any) -> bool | str:
    """What a kernel value of BTF type ``t`` is to the verifier: False for a scalar,
    the struct's name for a pointer to a named struct or union (a typed kernel
    pointer), True for any other pointer (tracing arguments, pointer members)."""
    mt = B.resolve(t)
    if not isinstance(mt, B.Pointer):
        return False
    target = B.resolve(mt.type)
    if isinstance(target, B.Composite) and target.name:
        return str(target.name)
    return True
