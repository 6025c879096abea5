"""IR for the map helpers generated code does itself on the maps :mod:`.maps`
describes: bpf_map_lookup_elem and bpf_map_update_elem on arrays and per-CPU
arrays, lookup/update/delete on hash maps (:mod:`.irhash`), and bpf_tail_call
through program arrays."""

from __future__ import annotations

from ..run import MAX_TAIL_CALLS
from . import layout as L
from .irbase import VALUE_REG, signed
from .irhash import HashEmitter
from .maps import ArrayInfo, HashInfo, Info, ProgInfo

#: bpf_map_lookup_elem, bpf_map_update_elem
HELPER_LOOKUP = 1
HELPER_UPDATE = 2
HELPER_DELETE = 3
#: bpf_tail_call
HELPER_TAIL_CALL = 12
ENOENT = 2


class MapEmitter(HashEmitter):
    """Native map helpers."""

    maps: dict[int, Info]
    #: module-level constants the function needs (per-CPU base tables)
    consts: list[str]

    def _map_helper(self, hid: int, args: list[str], pc: int) -> str:
        """bpf_map_lookup_elem / bpf_map_update_elem in generated code for the
        maps that allow it; any other map pointer, a closed map, or a case
        generated code leaves to Python (an update that inserts, unusual flags)
        takes the Python helper."""
        done, generic = self.label("mhd"), self.label("mhg")
        kinds = {HELPER_LOOKUP: (ArrayInfo, HashInfo), HELPER_UPDATE: (ArrayInfo, HashInfo),
                 HELPER_DELETE: (HashInfo,)}[hid]
        cases = [(h, info, self.label("mh")) for h, info in self.maps.items()
                 if isinstance(info, kinds) and (hid == HELPER_LOOKUP or info.writable)]
        self.e(f"switch i64 {args[0]}, label %{generic} [" +
               " ".join(f"i64 {signed(h, 64)}, label %{lab}" for h, _, lab in cases) + "]")
        phis = []
        for _h, info, lab in cases:
            self.block(lab)
            self._live_or(info.header, generic)
            if hid == HELPER_LOOKUP:
                if isinstance(info, ArrayInfo):
                    v = self._array_lookup(info, args[1], pc)
                else:
                    v = self._hash_find(info, args[1], pc)[0]
            elif isinstance(info, HashInfo):
                v = (self._hash_update if hid == HELPER_UPDATE else self._hash_delete)(
                    info, args, pc, generic)
            else:
                v = self._array_update(info, args, pc, generic)
            phis.append((v, self.cur))
            self.e(f"br label %{done}")
        return self.join_with_python(hid, pc, args, generic, done, phis)

    def _tail_call(self, args: list[str], pc: int) -> str:
        """bpf_tail_call(ctx, prog_array, index) in generated code: the
        program in the slot runs natively in this frame (same depth and stack)
        and this function returns what it returns; an empty slot, an index out
        of range or the 34th tail call give -ENOENT and execution goes on. A
        program that does not run natively, another map, or a closed one take
        the Python helper."""
        ctx, mp, index = args[0], args[1], args[2]
        cases = [(h, info, self.label("tc")) for h, info in self.maps.items()
                 if isinstance(info, ProgInfo)]
        generic, miss, done = self.label("tcg"), self.label("tcm"), self.label("tcd")
        self.e(f"switch i64 {mp}, label %{generic} [" +
               " ".join(f"i64 {signed(h, 64)}, label %{lab}" for h, _, lab in cases) + "]")
        for _h, info, lab in cases:
            self.block(lab)
            self._live_or(info.header, generic)
            tab = info.table
            i = self.let(f"and i64 {index}, 4294967295")
            inb = self.let(f"icmp ult i64 {i}, {tab.max_entries}")
            self.go_on_if(inb, miss, "tci")
            ep = self.let(f"getelementptr i64, ptr {self._ptr(tab.address)}, i64 {i}")
            fn = self.let(f"load atomic i64, ptr {ep} acquire, align 8")
            kind = self.label("tcn")
            self.e(f"switch i64 {fn}, label %{kind} [i64 0, label %{miss} "
                   f"i64 {tab.NOT_NATIVE}, label %{generic}]")
            self.block(kind)
            tp = self.word(L.TAILS)
            tails = self.let(f"load i64, ptr {tp}")
            over = self.let(f"icmp uge i64 {tails}, {MAX_TAIL_CALLS}")
            self.go_on_unless(over, miss, "tcgo")
            t1 = self.let(f"add i64 {tails}, 1")
            self.e(f"store i64 {t1}, ptr {tp}")
            pp = self.word(L.PROG)
            old = self.let(f"load i64, ptr {pp}")
            idp = self.let(f"getelementptr i64, ptr {self._ptr(tab.ids_address)}, i64 {i}")
            pid = self.let(f"load i64, ptr {idp}")
            self.e(f"store i64 {pid}, ptr {pp}")
            self.save_budget()
            f = self._ptr_of(fn)
            r = self.let(f"call i64 {f}(ptr %st, i64 {ctx}, i64 0, i64 0, i64 0, i64 0, "
                         "i64 %depth)")
            self.e(f"store i64 {old}, ptr {pp}")
            self.check_status()
            self.ret(r, self._state_budget())
        self.block(miss)
        self.e(f"br label %{done}")
        self.block(generic)
        r = self.tramp(HELPER_TAIL_CALL, pc, "0", tuple(args))
        self.check_status(allow_return=True)
        gen_end = self.cur
        self.e(f"br label %{done}")
        self.block(done)
        return self.let(f"phi i64 [{signed(-ENOENT, 64)}, %{miss}], [{r}, %{gen_end}]")

    def _state_budget(self) -> str:
        return self.let("load i64, ptr %bgp")

    def _live_or(self, hdr, closed: str) -> None:
        """Go on if the map is open, else to ``closed``."""
        live = self.let(f"load atomic i64, ptr {self._ptr(hdr.address)} acquire, align 8")
        isopen = self.let(f"icmp ne i64 {live}, 0")
        self.go_on_if(isopen, closed, "mho")

    @staticmethod
    def _ptr(address: int) -> str:
        return f"inttoptr (i64 {address} to ptr)"

    def _array_update(self, info: ArrayInfo, args: list[str], pc: int, generic: str) -> str:
        """Update an array element in place with flags BPF_ANY or BPF_EXIST;
        r0 = 0. Anything else goes to ``generic`` (the Python helper)."""
        flags = args[3]
        fl = self.let(f"and i64 {flags}, -3")  # BPF_ANY (0) or BPF_EXIST (2)
        plain = self.let(f"icmp eq i64 {fl}, 0")
        self.go_on_if(plain, generic, "upf")
        dst = self._array_host(info, args[1], pc, generic)
        self.e(f"store i64 {args[2]}, ptr %vreg")
        src, _ = self._host(VALUE_REG, 0, info.value_size, L.MEM_READ, pc)
        self.e(f"call void @llvm.memmove.p0.p0.i64(ptr {self._ptr_of(dst)}, ptr {src}, "
               f"i64 {info.value_size}, i1 false)")
        return "0"

    def _array_index(self, info: ArrayInfo, key: str, pc: int) -> tuple[str, str, str]:
        """(index, in bounds, CPU index) of an array lookup."""
        p = self._key_pointer(key, 4, pc)
        i32 = self.let(f"load i32, ptr {p}, align 1")
        i = self.let(f"zext i32 {i32} to i64")
        inb = self.let(f"icmp ult i64 {i}, {info.max_entries}")
        ci = "0"
        if len(info.bases) > 1:
            c = self.let("load i64, ptr %cpup")
            ci = self.tmp()
            self.e(f"{ci} = urem i64 {c}, {len(info.bases)}")
        return i, inb, ci

    def _array_lookup(self, info: ArrayInfo, key: str, pc: int) -> str:
        i, inb, ci = self._array_index(info, key, pc)
        base = self._pick(info.bases, ci)
        off = self.let(f"mul i64 {i}, {info.stride}")
        addr = self.let(f"add i64 {base}, {off}")
        return self.let(f"select i1 {inb}, i64 {addr}, i64 0")

    def _array_host(self, info: ArrayInfo, key: str, pc: int, bad: str) -> str:
        """Host address of the element (this CPU's); an index out of bounds goes to ``bad``."""
        i, inb, ci = self._array_index(info, key, pc)
        self.go_on_if(inb, bad, "aok")
        base = self._pick(info.hosts, ci)
        off = self.let(f"mul i64 {i}, {info.stride}")
        return self.let(f"add i64 {base}, {off}")

    def _pick(self, values: list[int], ci: str) -> str:
        """values[ci] (a constant when there is one value)."""
        if len(values) == 1:
            return str(signed(values[0], 64))
        bp = self.tmp()
        self.e(f"{bp} = getelementptr [{len(values)} x i64], ptr @{self.const_array(values)}, "
               f"i64 0, i64 {ci}")
        return self.let(f"load i64, ptr {bp}")

    def const_array(self, values: list[int]) -> str:
        name = f"bases{len(self.consts)}_{self.entry}"
        self.consts.append(f"@{name} = internal constant [{len(values)} x i64] [" +
                           ", ".join(f"i64 {signed(v, 64)}" for v in values) + "]")
        return name
