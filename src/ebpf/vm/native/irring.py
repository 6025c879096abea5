"""IR for the ring-buffer helpers generated code does itself, in the ring's own
memory (:mod:`ebpf.vm.maps.ringbuf`): bpf_ringbuf_reserve, _submit, _discard
and _output.

Producers serialise on the ring's spin lock (:data:`SPIN`, the same code the
Python producers call, compiled once by :func:`.engine.support`). Records a
program reserves are tracked in the run's state block (``RB_*`` words of
:mod:`.layout`) so that submit and discard take only records this run
reserved; when those slots are full, or the record came from Python, the
Python helpers do the work (and their checks)."""

from __future__ import annotations

from ..maps.ringbuf import BPF_RB_NO_WAKEUP, BUSY_BIT, CONS, DISCARD_BIT, LOCK, PROD, RB_HDR
from . import layout as L
from .irbase import signed
from .irmaps import MapEmitter
from .maps import Info, RingInfo

HELPER_OUTPUT, HELPER_RESERVE, HELPER_SUBMIT, HELPER_DISCARD = 130, 131, 132, 133
RING_HELPERS = frozenset({HELPER_OUTPUT, HELPER_RESERVE, HELPER_SUBMIT, HELPER_DISCARD})


def spin(linkage: str) -> str:
    """The producers' spin lock: ``lock(ptr)`` / ``unlock(ptr)`` on one word."""
    return f"""
define {linkage} void @rt_spin_lock(ptr %p) {{
entry:
  br label %try
try:
  %r = cmpxchg weak ptr %p, i64 0, i64 1 acquire monotonic, align 8
  %ok = extractvalue {{i64, i1}} %r, 1
  br i1 %ok, label %done, label %wait
wait:
  %v = load atomic i64, ptr %p monotonic, align 8
  %free = icmp eq i64 %v, 0
  br i1 %free, label %try, label %wait
done:
  ret void
}}

define {linkage} void @rt_spin_unlock(ptr %p) {{
entry:
  store atomic i64 0, ptr %p release, align 8
  ret void
}}
"""


#: what every module carries
SPIN = spin("internal")


class RingEmitter(MapEmitter):
    """Ring-buffer helpers in generated code."""

    maps: dict[int, Info]

    def _rings(self) -> list[tuple[int, RingInfo]]:
        return [(h, i) for h, i in self.maps.items() if isinstance(i, RingInfo)]

    def _ring_helper(self, hid: int, args: list[str], pc: int) -> str:
        done, generic = self.label("rbd"), self.label("rbg")
        phis: list[tuple[str, str]] = []
        if hid in (HELPER_SUBMIT, HELPER_DISCARD):
            self._ring_commit(hid == HELPER_SUBMIT, args, generic, done, phis)
        else:
            rings = [(h, i, self.label("rb")) for h, i in self._rings()]
            self.e(f"switch i64 {args[0]}, label %{generic} [" +
                   " ".join(f"i64 {signed(h, 64)}, label %{lab}" for h, _, lab in rings) + "]")
            for h, info, lab in rings:
                self.block(lab)
                self._live_or(info.header, generic)
                if hid == HELPER_RESERVE:
                    v = self._ring_reserve(h, info, args, generic)
                else:
                    v = self._ring_output(info, args, pc, generic)
                phis.append((v, self.cur))
                self.e(f"br label %{done}")
        return self.join_with_python(hid, pc, args, generic, done, phis)

    def _ctl(self, info: RingInfo, word: int) -> str:
        return self.let(f"getelementptr i64, ptr {self._ptr(info.ctl)}, i64 {word}")

    def _reserve_space(self, info: RingInfo, size: str, fail: str) -> tuple[str, str]:
        """Take ``size`` bytes (plus the header) at the producer position:
        (record offset in the data area, header host pointer); no room goes to
        ``fail`` (a block taking no lock)."""
        r8 = self.let(f"add i64 {size}, {RB_HDR + 7}")
        cost = self.let(f"and i64 {r8}, -8")
        big1 = self.let(f"icmp ugt i64 {cost}, {info.size}")
        big2 = self.let(f"icmp ugt i64 {size}, {info.size}")
        big = self.let(f"or i1 {big1}, {big2}")
        self.go_on_unless(big, fail, "rbs")
        consp = self._ctl(info, CONS)
        cons = self.let(f"load atomic i64, ptr {consp} acquire, align 8")
        lock = self._ctl(info, LOCK)
        self.e(f"call void @rt_spin_lock(ptr {lock})")
        prodp = self._ctl(info, PROD)
        prod = self.let(f"load i64, ptr {prodp}")
        np_ = self.let(f"add i64 {prod}, {cost}")
        used = self.let(f"sub i64 {np_}, {cons}")
        full = self.let(f"icmp ugt i64 {used}, {info.size - 1}")
        room, nor = self.label("rbr"), self.label("rbn")
        self.e(f"br i1 {full}, label %{nor}, label %{room}")
        self.block(nor)
        self.e(f"call void @rt_spin_unlock(ptr {lock})")
        self.e(f"br label %{fail}")
        self.block(room)
        off = self.let(f"urem i64 {prod}, {info.size}")
        hp = self.let(f"getelementptr i8, ptr {self._ptr(info.data)}, i64 {off}")
        s32 = self.let(f"trunc i64 {size} to i32")
        busy = self.let(f"or i32 {s32}, {signed(BUSY_BIT, 32)}")
        self.e(f"store i32 {busy}, ptr {hp}, align 4")
        pgp = self.let(f"getelementptr i8, ptr {hp}, i64 4")
        self.e(f"store i32 0, ptr {pgp}, align 4")
        self.e(f"store atomic i64 {np_}, ptr {prodp} release, align 8")
        self.e(f"call void @rt_spin_unlock(ptr {lock})")
        return off, hp

    def _ring_reserve(self, handle: int, info: RingInfo, args: list[str], generic: str) -> str:
        size, flags = args[1], args[2]
        zero = self.label("rbz")
        # flags: NULL, as the Python helper; a free tracking slot, or Python's work
        bad = self.let(f"icmp ne i64 {flags}, 0")
        self.go_on_unless(bad, zero, "rbf")
        slot = self._free_rb_slot(generic)
        off, hp = self._reserve_space(info, size, zero)
        a0 = self.let(f"add i64 {off}, {signed(info.base + RB_HDR, 64)}")
        self._rb_word(L.RB_ADDR, slot, a0)
        hi = self.let(f"ptrtoint ptr {hp} to i64")
        self._rb_word(L.RB_HOST, slot, hi)
        self._rb_word(L.RB_MAP, slot, str(signed(handle, 64)))
        return self.join(a0, zero, "0", "rbo")

    def _rb_word(self, first: int, slot: str, value: str) -> None:
        i = self.let(f"add i64 {slot}, {first}")
        p = self.let(f"getelementptr i64, ptr %st, i64 {i}")
        self.e(f"store i64 {value}, ptr {p}")

    def _rb_load(self, first: int, slot: str) -> str:
        i = self.let(f"add i64 {slot}, {first}")
        p = self.let(f"getelementptr i64, ptr %st, i64 {i}")
        return self.let(f"load i64, ptr {p}")

    def _rb_slot_of(self, addr: str) -> str:
        """Index of the first tracking slot holding record address ``addr``
        (0: a free slot), RB_SLOTS when none does."""
        idx = str(L.RB_SLOTS)
        for k in reversed(range(L.RB_SLOTS)):
            w = self.tmp()
            self.e(f"{w} = load i64, ptr {self.word(L.RB_ADDR + k)}")
            same = self.let(f"icmp eq i64 {w}, {addr}")
            idx = self.let(f"select i1 {same}, i64 {k}, i64 {idx}")
        return idx

    def _free_rb_slot(self, none: str) -> str:
        """Index of a free tracking slot; none free goes to ``none``."""
        idx = self._rb_slot_of("0")
        full = self.let(f"icmp eq i64 {idx}, {L.RB_SLOTS}")
        self.go_on_unless(full, none, "rbk")
        return idx

    def _ring_commit(self, submit: bool, args: list[str], generic: str, done: str,
                     phis: list[tuple[str, str]]) -> None:
        """Submit or discard a record this run reserved in generated code."""
        data, flags = args[0], args[1]
        idx = self._rb_slot_of(data)
        # a null pointer never matches a free slot: it is Python's to refuse
        nul = self.let(f"icmp eq i64 {data}, 0")
        none = self.let(f"icmp eq i64 {idx}, {L.RB_SLOTS}")
        away = self.let(f"or i1 {nul}, {none}")
        self.go_on_unless(away, generic, "rbc")
        hi = self._rb_load(L.RB_HOST, idx)
        hp = self.let(f"inttoptr i64 {hi} to ptr")
        self._rb_word(L.RB_ADDR, idx, "0")
        self._finish_record(hp, submit, flags)
        phis.append(("0", self.cur))
        self.e(f"br label %{done}")

    def _finish_record(self, hp: str, submit: bool, flags: str) -> None:
        """Clear BUSY (set DISCARD for a discard) in the header; ask for a wakeup."""
        h = self.let(f"load i32, ptr {hp}, align 4")
        length = self.let(f"and i32 {h}, {signed(~(BUSY_BIT | DISCARD_BIT), 32)}")
        nh = length
        if not submit:
            nh = self.let(f"or i32 {length}, {signed(DISCARD_BIT, 32)}")
        self.e(f"store atomic i32 {nh}, ptr {hp} release, align 4")
        if submit:
            nw = self.let(f"and i64 {flags}, {BPF_RB_NO_WAKEUP}")
            wake = self.let(f"icmp eq i64 {nw}, 0")
            wp = self.word(L.WAKE)
            old = self.let(f"load i64, ptr {wp}")
            w1 = self.let(f"zext i1 {wake} to i64")
            w2 = self.let(f"or i64 {old}, {w1}")
            self.e(f"store i64 {w2}, ptr {wp}")

    def _ring_output(self, info: RingInfo, args: list[str], pc: int, generic: str) -> str:
        """bpf_ringbuf_output: copy ``size`` bytes at ``data`` into a new record.
        A zero size or unusual flags take the Python helper; no room gives -EAGAIN."""
        data, size, flags = args[1], args[2], args[3]
        fl = self.let(f"and i64 {flags}, -4")
        odd = self.let(f"icmp ne i64 {fl}, 0")
        z = self.let(f"icmp eq i64 {size}, 0")
        away = self.let(f"or i1 {odd}, {z}")
        self.go_on_unless(away, generic, "rbq")
        src = self._host_dynamic(data, size, pc)
        full = self.label("rbe")
        _off, hp = self._reserve_space(info, size, full)
        dst = self.let(f"getelementptr i8, ptr {hp}, i64 {RB_HDR}")
        self.e(f"call void @llvm.memmove.p0.p0.i64(ptr {dst}, ptr {src}, i64 {size}, i1 false)")
        self._finish_record(hp, True, flags)
        return self.join("0", full, str(signed(-11, 64)), "rbo")  # -EAGAIN

    def _host_dynamic(self, addr: str, size: str, pc: int) -> str:
        """Host pointer to ``size`` (a value) bytes at ``addr``, checked (a
        fault unwinds)."""
        res = self.let(f"call {{i64, i64, i64, i64}} @rt_access(ptr %st, i64 {addr}, "
                       f"i64 {size}, i64 {L.MEM_READ}, i64 {pc}, i64 %depth)")
        h = self.let(f"extractvalue {{i64, i64, i64, i64}} {res}, 0")
        bad = self.let(f"icmp eq i64 {h}, 0")
        ok = self.label("rbh")
        self.e(f"br i1 {bad}, label %bail, label %{ok}")
        self.block(ok)
        return self.let(f"inttoptr i64 {h} to ptr")
