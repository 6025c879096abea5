"""IR for the map helpers generated code does itself on the maps :mod:`.maps`
describes (arrays, per-CPU arrays, hash maps through their native index):
bpf_map_lookup_elem, bpf_map_update_elem of an element that exists, and
bpf_tail_call through program arrays."""

from __future__ import annotations

from ..run import MAX_TAIL_CALLS
from . import layout as L
from .irbase import KEY_REG, VALUE_REG, signed
from .irmemory import MemoryEmitter
from .maps import MIX, ArrayInfo, HashInfo, Info, ProgInfo

#: bpf_map_lookup_elem, bpf_map_update_elem
HELPER_LOOKUP = 1
HELPER_UPDATE = 2
#: bpf_tail_call
HELPER_TAIL_CALL = 12
ENOENT = 2


class MapEmitter(MemoryEmitter):
    """Native map lookups."""

    maps: dict[int, Info]
    #: module-level constants the function needs (per-CPU base tables)
    consts: list[str]

    def _map_helper(self, hid: int, args: list[str], pc: int) -> str:
        """bpf_map_lookup_elem / bpf_map_update_elem in generated code for the
        maps that allow it; any other map pointer, a closed map, or a case
        generated code leaves to Python (an update that inserts, unusual flags)
        takes the Python helper."""
        done, generic = self.label("mhd"), self.label("mhg")
        cases = [(h, info, self.label("mh")) for h, info in self.maps.items()
                 if isinstance(info, ArrayInfo | HashInfo)
                 and (hid == HELPER_LOOKUP or info.writable)]
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
            else:
                v = self._update(info, args, pc, generic)
            phis.append((v, self.cur))
            self.e(f"br label %{done}")
        self.block(generic)
        r = self.tramp(hid, pc, "0", tuple(args))
        self.check_status(allow_return=True)
        phis.append((r, self.cur))
        self.e(f"br label %{done}")
        self.block(done)
        res = self.tmp()
        self.e(f"{res} = phi i64 " + ", ".join(f"[{v}, %{b}]" for v, b in phis))
        return res

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
            i = self.tmp()
            self.e(f"{i} = and i64 {index}, 4294967295")
            inb = self.tmp()
            self.e(f"{inb} = icmp ult i64 {i}, {tab.max_entries}")
            got = self.label("tci")
            self.e(f"br i1 {inb}, label %{got}, label %{miss}")
            self.block(got)
            ep = self.tmp()
            self.e(f"{ep} = getelementptr i64, ptr {self._ptr(tab.address)}, i64 {i}")
            fn = self.tmp()
            self.e(f"{fn} = load atomic i64, ptr {ep} acquire, align 8")
            kind = self.label("tcn")
            self.e(f"switch i64 {fn}, label %{kind} [i64 0, label %{miss} "
                   f"i64 {tab.NOT_NATIVE}, label %{generic}]")
            self.block(kind)
            tp = self.word(L.TAILS)
            tails = self.tmp()
            self.e(f"{tails} = load i64, ptr {tp}")
            over = self.tmp()
            self.e(f"{over} = icmp uge i64 {tails}, {MAX_TAIL_CALLS}")
            go = self.label("tcgo")
            self.e(f"br i1 {over}, label %{miss}, label %{go}")
            self.block(go)
            t1 = self.tmp()
            self.e(f"{t1} = add i64 {tails}, 1")
            self.e(f"store i64 {t1}, ptr {tp}")
            pp = self.word(L.PROG)
            old = self.tmp()
            self.e(f"{old} = load i64, ptr {pp}")
            idp = self.tmp()
            self.e(f"{idp} = getelementptr i64, ptr {self._ptr(tab.ids_address)}, i64 {i}")
            pid = self.tmp()
            self.e(f"{pid} = load i64, ptr {idp}")
            self.e(f"store i64 {pid}, ptr {pp}")
            self.save_budget()
            f = self._ptr_of(fn)
            r = self.tmp()
            self.e(f"{r} = call i64 {f}(ptr %st, i64 {ctx}, i64 0, i64 0, i64 0, i64 0, "
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
        res = self.tmp()
        self.e(f"{res} = phi i64 [{signed(-ENOENT, 64)}, %{miss}], [{r}, %{gen_end}]")
        return res

    def _state_budget(self) -> str:
        v = self.tmp()
        self.e(f"{v} = load i64, ptr %bgp")
        return v

    def _live_or(self, hdr, closed: str) -> None:
        """Go on if the map is open, else to ``closed``."""
        live = self.tmp()
        self.e(f"{live} = load atomic i64, ptr {self._ptr(hdr.address)} acquire, align 8")
        isopen = self.tmp()
        self.e(f"{isopen} = icmp ne i64 {live}, 0")
        go = self.label("mho")
        self.e(f"br i1 {isopen}, label %{go}, label %{closed}")
        self.block(go)

    @staticmethod
    def _ptr(address: int) -> str:
        return f"inttoptr (i64 {address} to ptr)"

    def _update(self, info: ArrayInfo | HashInfo, args: list[str], pc: int, generic: str) -> str:
        """Update in place: an array element, or a hash element that exists,
        with flags BPF_ANY or BPF_EXIST; r0 = 0. Anything else goes to
        ``generic`` (the Python helper)."""
        flags = args[3]
        fl = self.tmp()
        self.e(f"{fl} = and i64 {flags}, -3")  # BPF_ANY (0) or BPF_EXIST (2)
        plain = self.tmp()
        self.e(f"{plain} = icmp eq i64 {fl}, 0")
        ok = self.label("upf")
        self.e(f"br i1 {plain}, label %{ok}, label %{generic}")
        self.block(ok)
        if isinstance(info, ArrayInfo):
            dst = self._array_host(info, args[1], pc, generic)
        else:
            _, dst = self._hash_find(info, args[1], pc)
            found = self.tmp()
            self.e(f"{found} = icmp ne i64 {dst}, 0")
            hit = self.label("uph")
            self.e(f"br i1 {found}, label %{hit}, label %{generic}")
            self.block(hit)
        self.e(f"store i64 {args[2]}, ptr %vreg")
        src, _ = self._host(VALUE_REG, 0, info.value_size, L.MEM_READ, pc)
        self.e(f"call void @llvm.memmove.p0.p0.i64(ptr {self._ptr_of(dst)}, ptr {src}, "
               f"i64 {info.value_size}, i1 false)")
        return "0"

    def _ptr_of(self, value: str) -> str:
        p = self.tmp()
        self.e(f"{p} = inttoptr i64 {value} to ptr")
        return p

    def _key_pointer(self, key: str, size: int, pc: int) -> str:
        """Host pointer to ``size`` key bytes at simulated address ``key``."""
        t = self.tmp()
        self.e(f"store i64 {key}, ptr %kreg")
        p, _ = self._host(KEY_REG, 0, size, L.MEM_READ, pc)
        del t
        return p

    def _array_index(self, info: ArrayInfo, key: str, pc: int) -> tuple[str, str, str]:
        """(index, in bounds, CPU index) of an array lookup."""
        p = self._key_pointer(key, 4, pc)
        i32 = self.tmp()
        self.e(f"{i32} = load i32, ptr {p}, align 1")
        i = self.tmp()
        self.e(f"{i} = zext i32 {i32} to i64")
        inb = self.tmp()
        self.e(f"{inb} = icmp ult i64 {i}, {info.max_entries}")
        ci = "0"
        if len(info.bases) > 1:
            c = self.tmp()
            self.e(f"{c} = load i64, ptr %cpup")
            ci = self.tmp()
            self.e(f"{ci} = urem i64 {c}, {len(info.bases)}")
        return i, inb, ci

    def _array_lookup(self, info: ArrayInfo, key: str, pc: int) -> str:
        i, inb, ci = self._array_index(info, key, pc)
        base = self._pick(info.bases, ci)
        off = self.tmp()
        self.e(f"{off} = mul i64 {i}, {info.stride}")
        addr = self.tmp()
        self.e(f"{addr} = add i64 {base}, {off}")
        r = self.tmp()
        self.e(f"{r} = select i1 {inb}, i64 {addr}, i64 0")
        return r

    def _array_host(self, info: ArrayInfo, key: str, pc: int, bad: str) -> str:
        """Host address of the element (this CPU's); an index out of bounds goes to ``bad``."""
        i, inb, ci = self._array_index(info, key, pc)
        ok = self.label("aok")
        self.e(f"br i1 {inb}, label %{ok}, label %{bad}")
        self.block(ok)
        base = self._pick(info.hosts, ci)
        off = self.tmp()
        self.e(f"{off} = mul i64 {i}, {info.stride}")
        addr = self.tmp()
        self.e(f"{addr} = add i64 {base}, {off}")
        return addr

    def _pick(self, values: list[int], ci: str) -> str:
        """values[ci] (a constant when there is one value)."""
        if len(values) == 1:
            return str(signed(values[0], 64))
        bp = self.tmp()
        self.e(f"{bp} = getelementptr [{len(values)} x i64], ptr @{self.const_array(values)}, "
               f"i64 0, i64 {ci}")
        v = self.tmp()
        self.e(f"{v} = load i64, ptr {bp}")
        return v

    def _hash_find(self, info: HashInfo, key: str, pc: int) -> tuple[str, str]:
        """Look ``key`` up in the native index: (value address on this CPU or
        0, its host address or 0). In an LRU map the entry is marked referenced."""
        ks = info.key_size
        idx = info.index
        p = self._key_pointer(key, ks, pc)
        words = self._key_words(p, ks)
        h = str(ks)
        for w in words:
            x = self.tmp()
            self.e(f"{x} = xor i64 {h}, {w}")
            y = self.tmp()
            self.e(f"{y} = mul i64 {x}, {signed(MIX, 64)}")
            h = y
        sh = self.tmp()
        self.e(f"{sh} = lshr i64 {h}, 29")
        hx = self.tmp()
        self.e(f"{hx} = xor i64 {h}, {sh}")
        hv = self.tmp()
        self.e(f"{hv} = or i64 {hx}, 2")
        start = self.tmp()
        self.e(f"{start} = and i64 {hv}, {idx.mask}")
        pre = self.cur
        loop, body, cmp, nxt, found, miss, out = (self.label(x) for x in (
            "hl", "hb", "hc", "hn", "hf", "hm", "ho"))
        self.e(f"br label %{loop}")
        self.block(loop)
        i = self.tmp()
        i1 = self.tmp()
        self.e(f"{i} = phi i64 [{start}, %{pre}], [{i1}, %{nxt}]")
        w = self.tmp()
        self.e(f"{w} = mul i64 {i}, {idx.entry_words}")
        ep = self.tmp()
        self.e(f"{ep} = getelementptr i64, ptr inttoptr (i64 {idx.address} to ptr), i64 {w}")
        tag = self.tmp()
        self.e(f"{tag} = load atomic i64, ptr {ep} acquire, align 8")
        empty = self.tmp()
        self.e(f"{empty} = icmp eq i64 {tag}, 0")
        self.e(f"br i1 {empty}, label %{miss}, label %{body}")
        self.block(body)
        same = self.tmp()
        self.e(f"{same} = icmp eq i64 {tag}, {hv}")
        self.e(f"br i1 {same}, label %{cmp}, label %{nxt}")
        self.block(cmp)
        eq = "true"
        for j, kw in enumerate(words):
            kp = self.tmp()
            self.e(f"{kp} = getelementptr i64, ptr {ep}, i64 {idx.key + j}")
            kv = self.tmp()
            self.e(f"{kv} = load i64, ptr {kp}")
            e = self.tmp()
            self.e(f"{e} = icmp eq i64 {kv}, {kw}")
            e2 = self.tmp()
            self.e(f"{e2} = and i1 {eq}, {e}")
            eq = e2
        self.e(f"br i1 {eq}, label %{found}, label %{nxt}")
        self.block(nxt)
        ii = self.tmp()
        self.e(f"{ii} = add i64 {i}, 1")
        self.e(f"{i1} = and i64 {ii}, {idx.mask}")
        self.e(f"br label %{loop}")
        self.block(found)
        if info.lru:
            rp = self.tmp()
            self.e(f"{rp} = getelementptr i64, ptr {ep}, i64 {idx.REF}")
            self.e(f"store atomic i64 1, ptr {rp} monotonic, align 8")
        ci = "0"
        if idx.ncpu > 1:
            c = self.tmp()
            self.e(f"{c} = load i64, ptr %cpup")
            ci = self.tmp()
            self.e(f"{ci} = urem i64 {c}, {idx.ncpu}")
        vals = []
        for first in (idx.VALUES, idx.host):
            w0 = self.tmp()
            self.e(f"{w0} = add i64 {ci}, {first}")
            vp = self.tmp()
            self.e(f"{vp} = getelementptr i64, ptr {ep}, i64 {w0}")
            v = self.tmp()
            self.e(f"{v} = load i64, ptr {vp}")
            vals.append(v)
        self.e(f"br label %{out}")
        self.block(miss)
        self.e(f"br label %{out}")
        self.block(out)
        r, hr = self.tmp(), self.tmp()
        self.e(f"{r} = phi i64 [{vals[0]}, %{found}], [0, %{miss}]")
        self.e(f"{hr} = phi i64 [{vals[1]}, %{found}], [0, %{miss}]")
        return r, hr

    def _key_words(self, p: str, size: int) -> list[str]:
        """The key's 8-byte little-endian words (the last zero-padded)."""
        words = []
        for off in range(0, size, 8):
            n = min(8, size - off)
            parts = []
            o = 0
            while o < n:
                c = 8 if n - o >= 8 else 4 if n - o >= 4 else 2 if n - o >= 2 else 1
                q = self.tmp()
                self.e(f"{q} = getelementptr i8, ptr {p}, i64 {off + o}")
                v = self.tmp()
                self.e(f"{v} = load i{c * 8}, ptr {q}, align 1")
                if c < 8:
                    z = self.tmp()
                    self.e(f"{z} = zext i{c * 8} {v} to i64")
                    v = z
                if o:
                    s2 = self.tmp()
                    self.e(f"{s2} = shl i64 {v}, {o * 8}")
                    v = s2
                parts.append(v)
                o += c
            w = parts[0]
            for part in parts[1:]:
                t = self.tmp()
                self.e(f"{t} = or i64 {w}, {part}")
                w = t
            words.append(w)
        return words

    def const_array(self, values: list[int]) -> str:
        name = f"bases{len(self.consts)}_{self.entry}"
        self.consts.append(f"@{name} = internal constant [{len(values)} x i64] [" +
                           ", ".join(f"i64 {signed(v, 64)}" for v in values) + "]")
        return name
