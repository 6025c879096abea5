"""Calls: helpers checked against their prototypes (:mod:`.platform`), kfuncs,
bpf-to-bpf calls and callbacks (new frames), reference acquisition/release,
spin locks, tail calls.
"""

from __future__ import annotations

from ..btf.kptr import KptrField, kptr_fields
from ..isa.instruction import Instruction, KsymReference
from ..uapi import MapType
from . import platform
from .memory import (
    MemoryRules,
    map_readonly,
    spin_lock_offset,
    stack_check_init,
    stack_mark_written,
)
from .scalar import Scalar, to_signed
from .state import ALL_SLOTS, EMPTY, SLOTS, Frame, State, slot_mask
from .types import NOT_INIT, Kind, Reg, Reject, pointer, scalar

MAX_CALL_FRAMES = 8
MAX_SIZE = 1 << 29

#: map types a helper insists on, and the helpers a special map type allows
HELPER_MAPS = {
    "tail_call": {MapType.PROG_ARRAY},
    "ringbuf_reserve": {MapType.RINGBUF}, "ringbuf_output": {MapType.RINGBUF},
    "ringbuf_query": {MapType.RINGBUF},
    "perf_event_output": {MapType.PERF_EVENT_ARRAY},
    "get_stackid": {MapType.STACK_TRACE},
    "skb_under_cgroup": {MapType.CGROUP_ARRAY}, "current_task_under_cgroup": {MapType.CGROUP_ARRAY},
    "task_storage_get": {MapType.TASK_STORAGE}, "task_storage_delete": {MapType.TASK_STORAGE},
    "sk_storage_get": {MapType.SK_STORAGE}, "sk_storage_delete": {MapType.SK_STORAGE},
    "map_push_elem": {MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER},
    "map_pop_elem": {MapType.QUEUE, MapType.STACK},
    "map_peek_elem": {MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER},
}
MAP_HELPERS = {
    MapType.PROG_ARRAY: {"tail_call"},
    MapType.RINGBUF: {"ringbuf_reserve", "ringbuf_output", "ringbuf_query",
                      "ringbuf_reserve_dynptr"},
    MapType.PERF_EVENT_ARRAY: {"perf_event_output", "perf_event_read", "perf_event_read_value",
                               "skb_output", "xdp_output"},
    MapType.STACK_TRACE: {"get_stackid"},
    MapType.CGROUP_ARRAY: {"skb_under_cgroup", "current_task_under_cgroup"},
    MapType.TASK_STORAGE: {"task_storage_get", "task_storage_delete"},
    MapType.SK_STORAGE: {"sk_storage_get", "sk_storage_delete"},
}
_GPL_LICENSES = platform.GPL_LICENSES


def _map_type(ms) -> MapType | None:
    try:
        return MapType(ms.type)
    except ValueError:
        return None


class CallRules(MemoryRules):
    """Call checks (a base of :class:`~ebpf.verifier.checker.Verifier`)."""

    #: the kptr field of the bpf_kptr_xchg being checked (its return type)
    _kptr_dest: KptrField | None = None

    # ---- helpers --------------------------------------------------------------------
    def call_helper(self, st: State, ins: Instruction, slot: int) -> list[State]:
        hid = ins.imm
        found = platform.helper_proto(hid)
        if found is None:
            raise Reject(f"invalid func unknown#{hid}")
        name, proto = found
        self._kptr_dest = None
        if not platform.helper_allowed(proto, self.prog_type):
            raise Reject(f"program of this type cannot use helper bpf_{name}#{hid}")
        if proto.gpl and self.license not in _GPL_LICENSES:
            raise Reject("cannot call GPL-restricted function from non-GPL compatible program")
        if st.lock is not None and name not in ("spin_unlock", "spin_lock"):
            raise Reject("function calls are not allowed while holding a lock")
        regs = st.regs
        mp: Reg | None = None
        args: list[Reg] = []
        released: int = 0
        for i, kind in enumerate(proto.args):
            regno = i + 1
            r = regs[regno]
            if r.kind is Kind.NOT_INIT:
                raise Reject(f"R{regno} !read_ok")
            args.append(r)
            nxt = proto.args[i + 1] if i + 1 < len(proto.args) else ""
            released = self._check_arg(st, name, regno, r, kind, nxt, mp, released, regs) \
                or released
            if kind == "map":
                mp = r
        if mp is not None:
            self._check_map_compat(name, hid, mp.map)
        elif name in HELPER_MAPS:
            pass
        if name == "tail_call" and st.refs:
            raise Reject("tail_call would lead to reference leak")
        if name == "spin_lock":
            if st.lock is not None:
                raise Reject("Locking two bpf_spin_locks are not allowed")
            st.lock = (id(regs[1].map), regs[1].off, regs[1].id)
        elif name == "spin_unlock":
            if st.lock is None:
                raise Reject("bpf_spin_unlock without taking a lock")
            if st.lock != (id(regs[1].map), regs[1].off, regs[1].id):
                raise Reject("bpf_spin_unlock of different lock")
            st.lock = None
        if released:
            self.release_ref(st, released)
        if proto.changes_pkt:
            self.clear_packet_pointers(st)
        ret = self._helper_return(st, proto.ret, args, mp, slot)
        for i in range(1, 6):
            regs[i] = NOT_INIT
        regs[0] = ret
        if proto.callback is not None:
            return self._enter_callback(st, proto.callback, args, hid, slot)
        return [st]

    def _check_arg(self, st: State, helper: str, regno: int, r: Reg, kind: str,
                   nxt: str, mp: Reg | None, released: int, regs: list[Reg]) -> int:
        nullable_ok = kind.endswith("?")
        k = kind.rstrip("?")
        if k in ("any",):
            return 0
        if k == "scalar":
            if r.kind is not Kind.SCALAR and r.kind is not Kind.BTF_ID:
                raise Reject(f"R{regno} type={r.type_name()} expected=scalar")
            return 0
        if k in ("size", "size0", "alloc"):
            return 0  # checked with the memory argument before it
        if k == "map":
            if r.kind is not Kind.MAP_PTR or r.nullable:
                raise Reject(f"R{regno} type={r.type_name()} expected=map_ptr")
            return 0
        if k == "ctx":
            if r.kind is not Kind.CTX:
                raise Reject(f"R{regno} type={r.type_name()} expected=ctx")
            if r.off or not r.var.is_const() or r.var.value:
                raise Reject(f"dereference of modified ctx ptr R{regno} off={r.off} disallowed")
            return 0
        if k == "func":
            if r.kind is not Kind.FUNC:
                raise Reject(f"R{regno} type={r.type_name()} expected=func")
            return 0
        if k == "btf":
            if r.kind not in (Kind.BTF_ID,) or r.nullable:
                raise Reject(f"R{regno} type={r.type_name()} expected=ptr_")
            return 0
        if k in ("sock", "sock_common"):
            # a socket pointer; for sock_common also a typed kernel one (tracing)
            kinds = (Kind.SOCKET, Kind.SOCK_COMMON, Kind.TCP_SOCK) + \
                ((Kind.BTF_ID,) if k == "sock_common" else ())
            if r.kind not in kinds or r.nullable:
                raise Reject(f"R{regno} type={r.type_name()} expected=sock")
            if k == "sock":
                if not r.ref:
                    raise Reject(f"R{regno} must be referenced when passed to release function")
                return r.ref
            return 0
        if k == "ringbuf":
            if r.kind is not Kind.MEM or not r.ref:
                raise Reject(f"R{regno} type={r.type_name()} expected=ringbuf_mem")
            if r.nullable:
                raise Reject(f"R{regno} type=ringbuf_mem_or_null expected=ringbuf_mem")
            if r.off or not r.var.is_const() or r.var.value:
                raise Reject(f"R{regno} must have zero offset when passed to release func")
            return r.ref
        if k == "kptr_dest":
            self._kptr_dest = self._check_kptr_dest(regno, r)
            return 0
        if k == "kptr_obj":
            if r.is_const(0):
                return 0
            want = self._kptr_dest.struct if self._kptr_dest is not None else None
            if r.kind is not Kind.BTF_ID or r.nullable or (want and r.btf != want):
                raise Reject(f"R{regno} type={r.type_name()} expected=ptr_{want or ''}")
            if not r.ref:
                raise Reject(f"R{regno} must be referenced when passed to release function")
            return r.ref
        if k == "spin_lock":
            if r.kind is not Kind.MAP_VALUE or r.nullable:
                raise Reject(f"R{regno} type={r.type_name()} expected=map_value")
            if not r.var.is_const():
                raise Reject(f"R{regno} doesn't have constant offset. bpf_spin_lock has to be at "
                             "the constant offset")
            lock = spin_lock_offset(r.map)
            if lock is None:
                raise Reject(f"map '{r.map.name}' has no valid bpf_spin_lock")
            if r.off + r.var.value != lock:
                raise Reject(f"off {r.off + r.var.value} doesn't point to 'struct bpf_spin_lock' "
                             f"that is at {lock}")
            return 0
        if k == "const_str":
            if r.kind is not Kind.MAP_VALUE or not map_readonly(r.map) or r.map.data is None:
                raise Reject(f"R{regno} does not point to a readonly map'")
            if not r.var.is_const():
                raise Reject(f"R{regno} is not a constant address'")
            start = r.off + r.var.value
            if b"\0" not in r.map.data[start:]:
                raise Reject("string is not zero-terminated")
            return 0
        # memory arguments
        if nullable_ok and r.is_const(0):
            return 0
        if k == "key":
            size, write = mp.map.key_size if mp is not None else 0, False
        elif k == "value":
            size, write = mp.map.value_size if mp is not None else 0, False
        elif k == "value_out":
            size, write = mp.map.value_size if mp is not None else 0, True
        elif k == "long_out":
            size, write = 8, True
        elif k in ("mem", "out"):
            size = self._size_arg(regs, regno + 1, nxt)
            write = k == "out"
            if size == 0:
                if r.kind is Kind.SCALAR and r.is_const(0):
                    return 0
        else:
            raise Reject(f"R{regno} unsupported argument kind {kind} of bpf_{helper}")
        if r.kind is Kind.SCALAR and nullable_ok and r.is_const(0):
            return 0
        self.check_helper_mem(st, regno, r, size, write)
        return 0

    def _check_kptr_dest(self, regno: int, r: Reg) -> KptrField:
        """bpf_kptr_xchg's destination: a referenced kptr field of a map value."""
        if r.kind is not Kind.MAP_VALUE or r.nullable:
            raise Reject(f"R{regno} type={r.type_name()} expected=map_value")
        if not r.var.is_const():
            raise Reject(f"R{regno} doesn't have constant offset. kptr has to be at the "
                         "constant offset")
        fields = kptr_fields(r.map.value_type)
        if r.map.value_type is None:
            raise Reject(f"map '{r.map.name}' has to have BTF in order to use bpf_kptr_xchg")
        if not fields:
            raise Reject(f"map '{r.map.name}' has no valid kptr")
        off = r.off + to_signed(r.var.value, 64)
        for f in fields:
            if f.offset == off:
                if not f.referenced:
                    raise Reject(f"off={off} kptr isn't referenced kptr")
                return f
        raise Reject(f"off={off} doesn't point to kptr")

    def _size_arg(self, regs: list[Reg], regno: int, kind: str) -> int:
        r = regs[regno]
        if r.kind is Kind.NOT_INIT:
            raise Reject(f"R{regno} !read_ok")
        if r.kind is not Kind.SCALAR:
            raise Reject(f"R{regno} type={r.type_name()} expected=scalar")
        v = r.var
        if v.smin < 0:
            raise Reject(f"R{regno} min value is negative, either use unsigned or 'var &= const'")
        if v.umax == 0 and kind != "size0":
            raise Reject(f"R{regno} invalid zero-sized read: u64=[0,0]")
        if v.umax >= MAX_SIZE:
            raise Reject(f"R{regno} unbounded memory access, use 'var &= const' or "
                         "'if (var < const)'")
        return v.umax

    def check_helper_mem(self, st: State, regno: int, r: Reg, size: int,
                         write: bool) -> None:
        """A helper reads (or writes) ``size`` bytes at ``r``."""
        if size == 0:
            return
        if r.nullable:
            raise Reject(f"R{regno} type={r.type_name()} expected=fp, pkt, pkt_meta, map_key, "
                         "map_value, mem, ringbuf_mem, buf, trusted_ptr_")
        if r.kind is Kind.STACK:
            lo, hi = self.stack_range(r, regno, 0, size, " indirect access to")
            frame = st.frames[r.frame]
            self.note_depth(st, r.frame, -lo)
            if write:
                stack_mark_written(frame, lo, hi)
            else:
                st.mark_read(r.frame, slot_mask(lo, hi))
                stack_check_init(frame, lo, hi, regno, self.privileged)
            return
        if r.kind in (Kind.PACKET, Kind.PACKET_META, Kind.MAP_VALUE, Kind.MEM, Kind.MAP_KEY):
            v = r.var
            if r.kind is Kind.MAP_VALUE:
                lo, hi = r.off + to_signed(v.smin, 64), r.off + v.umax + size
                for f in kptr_fields(r.map.value_type):
                    if lo < f.offset + 8 and hi > f.offset:
                        raise Reject("kptr cannot be accessed indirectly by helper")
            # check the first and the last byte the helper may touch
            self.check_mem(st, regno, 0, 1, write)
            if size > 1:
                if r.kind is Kind.MAP_VALUE:
                    end = r.off + v.umax + size
                    if end > r.map.value_size:
                        raise Reject(f"invalid access to map value, value_size={r.map.value_size}"
                                     f" off={r.off + v.smin} size={size}")
                elif r.kind in (Kind.PACKET, Kind.PACKET_META):
                    if r.off + size > r.range:
                        raise Reject(f"invalid access to packet, off={r.off} size={size}, "
                                     f"R{regno}(id={r.id},off={r.off},r={r.range})")
                else:
                    if r.off + v.umax + size > r.size:
                        raise Reject(f"invalid access to memory, mem_size={r.size} off={r.off} "
                                     f"size={size}")
            return
        if r.kind is Kind.BTF_ID:
            if write:
                raise Reject(f"R{regno} type={r.type_name()} expected=fp, pkt, pkt_meta, map_key,"
                             " map_value, mem")
            return
        raise Reject(f"R{regno} type={r.type_name()} expected=fp, pkt, pkt_meta, map_key, "
                     "map_value, mem, ringbuf_mem, buf, trusted_ptr_")

    def _check_map_compat(self, name: str, hid: int, ms) -> None:
        mt = _map_type(ms)
        need = HELPER_MAPS.get(name)
        if need is not None and mt not in need:
            raise Reject(f"cannot pass map_type {int(ms.type)} into func bpf_{name}#{hid}")
        allowed = MAP_HELPERS.get(mt) if mt is not None else None
        if allowed is not None and name not in allowed:
            raise Reject(f"cannot pass map_type {int(ms.type)} into func bpf_{name}#{hid}")

    def _helper_return(self, st: State, ret: str, args: list[Reg], mp: Reg | None,
                       slot: int) -> Reg:
        if ret in ("int",):
            return scalar()
        if ret == "void":
            return NOT_INIT
        if ret == "map_value?":
            assert mp is not None
            if mp.map.type in (MapType.SOCKMAP, MapType.SOCKHASH):  # a referenced socket
                ref = self.acquire_ref(st, slot)
                return pointer(Kind.SOCKET, nullable=True, id=ref, ref=ref)
            if mp.map.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
                if mp.map.inner is None:
                    raise Reject(f"map '{mp.map.name}' has no inner map description")
                return pointer(Kind.MAP_PTR, nullable=True, id=self.new_id(), map=mp.map.inner)
            return pointer(Kind.MAP_VALUE, nullable=True, id=self.new_id(), map=mp.map)
        if ret == "map_value":  # bpf_get_local_storage: the program's storage, never NULL
            assert mp is not None
            return pointer(Kind.MAP_VALUE, map=mp.map)
        if ret == "ringbuf?":
            size_reg = args[1]
            if not size_reg.is_const():
                raise Reject("R2 is not a known constant'")
            ref = self.acquire_ref(st, slot)
            return pointer(Kind.MEM, nullable=True, id=ref, ref=ref, size=size_reg.var.value,
                           btf="ringbuf")
        if ret == "tcp_sock?":
            return pointer(Kind.TCP_SOCK, nullable=True, id=self.new_id())
        if ret == "kptr?":   # the old object, referenced: the program must release it
            ref = self.acquire_ref(st, slot)
            f = self._kptr_dest
            return pointer(Kind.BTF_ID, nullable=True, id=ref, ref=ref,
                           btf=f.struct if f is not None else None)
        if ret == "sock?":
            ref = self.acquire_ref(st, slot)
            return pointer(Kind.SOCKET, nullable=True, id=ref, ref=ref)
        if ret.startswith("btf"):
            nullable = ret.startswith("btf?")
            tname = ret.split(":", 1)[1] if ":" in ret else None
            return pointer(Kind.BTF_ID, nullable=nullable, id=self.new_id() if nullable else 0,
                           btf=tname)
        raise Reject(f"unsupported helper return {ret}")

    # ---- references ---------------------------------------------------------------------
    def acquire_ref(self, st: State, slot: int) -> int:
        ref = self.new_id()
        st.refs[ref] = slot
        return ref

    def release_ref(self, st: State, ref: int) -> None:
        if ref not in st.refs:
            raise Reject(f"release of unknown reference id={ref}")
        del st.refs[ref]
        st.map_regs(lambda r: scalar() if r.ref == ref else r)

    def clear_packet_pointers(self, st: State) -> None:
        st.map_regs(lambda r: scalar() if r.kind in (Kind.PACKET, Kind.PACKET_META,
                                                      Kind.PACKET_END) else r)

    def kfunc_info(self, name: str) -> tuple[int, bool]:
        """(number of parameters, returns a pointer) from the object's BTF."""
        btf = self.btf
        if btf is None:
            return 0, False
        try:
            for t in btf.types_by_name(name):
                if type(t).__name__ == "Func":
                    proto = t.type
                    ret = getattr(proto, "return_type", None) or getattr(proto, "type", None)
                    for _ in range(8):  # through typedefs/qualifiers
                        if ret is None or type(ret).__name__ == "Pointer":
                            break
                        ret = getattr(ret, "type", None)
                    n = len(getattr(proto, "params", ()) or ())
                    return n, ret is not None and type(ret).__name__ == "Pointer"
        except Exception:  # noqa: BLE001 - best effort: BTF shapes vary
            return 0, False
        return 0, False

    # ---- kfuncs ---------------------------------------------------------------------------
    def call_kfunc(self, st: State, ins: Instruction, slot: int) -> list[State]:
        ref = ins.reference
        name = ref.name if isinstance(ref, KsymReference) else f"kfunc#{ins.imm}"
        if st.lock is not None:
            raise Reject("function calls are not allowed while holding a lock")
        proto = platform.KFUNCS.get(name)
        regs = st.regs
        if proto is None:
            # unknown kfunc: arguments must be initialised up to its BTF arity
            n, returns_ptr = self.kfunc_info(name)
            for i in range(1, n + 1):
                if regs[i].kind is Kind.NOT_INIT:
                    raise Reject(f"R{i} !read_ok")
            # a kernel object: read with probe semantics, as an untrusted BTF pointer
            ret = pointer(Kind.BTF_ID, var=Scalar.unknown()) if returns_ptr else scalar()
        else:
            if proto.types and self.prog_type not in proto.types:
                raise Reject(f"calling kernel function {name} is not allowed")
            for i, kind in enumerate(proto.args):
                r = regs[i + 1]
                if r.kind is Kind.NOT_INIT:
                    raise Reject(f"R{i + 1} !read_ok")
                if kind == "iter" and r.kind is not Kind.STACK:
                    raise Reject(f"arg#{i} expected pointer to an iterator on stack")
                if kind == "iter":
                    self.check_helper_mem(st, i + 1, r, 8, True) if proto.iter == "new" else \
                        self.check_helper_mem(st, i + 1, r, 8, False)
                self._check_kfunc_arg(st, name, i, r, kind, proto)
                if i == proto.release:
                    if not r.ref:
                        raise Reject(f"release kernel function {name} expects refcounted "
                                     "PTR_TO_BTF_ID")
                    self.release_ref(st, r.ref)
            if proto.iter == "next":
                st.iter_depth += 1
            if name == "bpf_rcu_read_lock":
                st.rcu += 1
            elif name == "bpf_rcu_read_unlock":
                if not st.rcu:
                    raise Reject("unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)")
                st.rcu -= 1
            ret = self._kfunc_return(st, proto, slot)
        for i in range(1, 6):
            regs[i] = NOT_INIT
        regs[0] = ret
        return [st]

    def _check_kfunc_arg(self, st: State, name: str, i: int, r: Reg, kind: str,
                         proto: platform.KfuncProto) -> None:
        regno = i + 1
        if kind.startswith("btf"):
            if r.kind is not Kind.BTF_ID or r.nullable:
                raise Reject(f"R{regno} must be referenced or trusted")
            want = kind.partition(":")[2]
            if want and isinstance(r.btf, str) and r.btf != want:
                raise Reject(f"kernel function {name} args#{i} expected pointer to STRUCT "
                             f"{want} but R{regno} has a pointer to STRUCT {r.btf}")
        elif kind == "ctx":
            if r.kind is not Kind.CTX:
                raise Reject(f"arg#{i} expected pointer to ctx, but got {r.type_name()}")
            if r.off or not r.var.is_const() or r.var.value:
                raise Reject(f"dereference of modified ctx ptr R{regno} off={r.off} disallowed")
        elif kind == "mem":
            size = self._size_arg(st.regs, regno + 1, proto.args[i + 1])
            if size == 0 and r.kind is Kind.SCALAR and r.is_const(0):
                return
            self.check_helper_mem(st, regno, r, size, False)

    def _kfunc_return(self, st: State, proto: platform.KfuncProto, slot: int) -> Reg:
        r = proto.ret
        if r == "int":
            return scalar()
        if r == "void":
            return NOT_INIT
        if r.startswith("mem?"):
            return pointer(Kind.MEM, nullable=True, id=self.new_id(), size=int(r.split(":")[1]),
                           rdonly=True)
        nullable = r.startswith("btf?")
        tname = r.split(":", 1)[1] if ":" in r else None
        ref = self.acquire_ref(st, slot) if proto.acquire else 0
        return pointer(Kind.BTF_ID, nullable=nullable, id=ref or self.new_id(), ref=ref,
                       btf=tname)

    # ---- bpf-to-bpf calls and callbacks ---------------------------------------------------
    def call_local(self, st: State, ins: Instruction, slot: int) -> list[State]:
        target = ins.jump_target(slot)
        if st.lock is not None:
            raise Reject("function calls are not allowed while holding a lock")
        if len(st.frames) >= MAX_CALL_FRAMES:
            raise Reject(f"the call stack of {len(st.frames) + 1} frames is too deep !")
        caller = st.cur
        regs = [NOT_INIT] * 11
        for i in range(1, 6):
            regs[i] = caller.regs[i]
        regs[10] = pointer(Kind.STACK, frame=len(st.frames))
        sub = self.cfg.subprog_index(target)
        self.note_call(caller.subprog, sub)
        st.frames.append(Frame(regs, [EMPTY] * SLOTS, callsite=slot, subprog=sub))
        st.insn = target
        return [st]

    def _enter_callback(self, st: State, cb: tuple[int, tuple[str, ...]],
                        args: list[Reg], hid: int, slot: int) -> list[State]:
        func_arg, kinds = cb
        fn = args[func_arg]
        target = fn.btf
        if len(st.frames) >= MAX_CALL_FRAMES:
            raise Reject(f"the call stack of {len(st.frames) + 1} frames is too deep !")
        # the path where the callback is never called
        skip = st.copy()
        skip.insn = slot + 1
        regs = [NOT_INIT] * 11
        mp = args[0]
        for i, k in enumerate(kinds):
            if k == "scalar":
                regs[i + 1] = scalar()
            elif k.startswith("@"):
                regs[i + 1] = args[int(k[1:])]
            elif k == "map@0":
                regs[i + 1] = mp
            elif k == "key@0":
                regs[i + 1] = pointer(Kind.MAP_KEY, size=mp.map.key_size)
            elif k == "value@0":
                regs[i + 1] = pointer(Kind.MAP_VALUE, map=mp.map)
        regs[10] = pointer(Kind.STACK, frame=len(st.frames))
        sub = self.cfg.subprog_index(target)
        self.note_call(st.cur.subprog, sub)
        cbst = st.copy()
        cbst.frames.append(Frame(regs, [EMPTY] * SLOTS, callsite=slot, subprog=sub,
                                 callback_of=hid, entry=tuple(regs)))
        cbst.insn = target
        self.callback_starts.add(target)
        return [cbst, skip]

    def exit_frame(self, st: State, slot: int) -> list[State]:
        """``exit`` in a subprogram or callback: back to the caller (and, after a
        callback, also into its next iteration, with what this one left behind)."""
        again: list[State] = []
        cb = st.cur
        if cb.callback_of is not None and cb.entry is not None:
            nxt = st.copy()
            f = nxt.frames[-1]
            f.regs = list(cb.entry)
            f.stack = [EMPTY] * SLOTS
            f.written = ALL_SLOTS
            nxt.iter_depth += 1
            nxt.insn = self.cfg.subprogs[f.subprog].start
            again.append(nxt)
        callee = st.frames.pop()
        r0 = callee.regs[0]
        # a static subprogram may return nothing (void): R0 stays unreadable in the
        # caller, as the kernel's prepare_func_exit leaves it; a callback must return
        if r0.kind is Kind.NOT_INIT and callee.callback_of is not None:
            raise Reject("R0 !read_ok")
        if r0.kind is Kind.STACK and r0.frame == len(st.frames):
            raise Reject("cannot return stack pointer to the caller")
        caller = st.cur
        if callee.callback_of is not None:
            if r0.kind is not Kind.SCALAR:
                raise Reject(f"At callback return the register R0 is not a known value "
                             f"({r0.type_name()})")
            if r0.var.umax > 1 or r0.var.smin < 0:
                raise Reject(f"At callback return the register R0 has {r0.var} should have "
                             "been in [0, 1]")
            r0 = scalar()   # what the helper returns
        for i in range(1, 6):
            caller.regs[i] = NOT_INIT
        caller.regs[0] = r0
        # callee pointers into its own (now gone) stack die with it
        gone = len(st.frames)
        st.map_regs(lambda r: scalar() if r.kind is Kind.STACK and r.frame >= gone else r)
        st.insn = callee.callsite + 1
        return [st] + again

    def new_frame_state(self) -> Scalar:
        return Scalar.unknown()
