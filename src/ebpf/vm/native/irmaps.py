"""IR for the helpers generated code does itself: bpf_map_lookup_elem on the
maps :mod:`.maps` describes (arrays, per-CPU arrays, hash maps through their
native index)."""

from __future__ import annotations

from . import layout as L
from .irbase import KEY_REG, signed
from .irmemory import MemoryEmitter
from .maps import MIX, ArrayInfo, HashInfo

#: bpf_map_lookup_elem
HELPER_LOOKUP = 1


class MapEmitter(MemoryEmitter):
    """Native map lookups."""

    maps: dict[int, ArrayInfo | HashInfo]
    #: module-level constants the function needs (per-CPU base tables)
    consts: list[str]

    def _map_lookup(self, args: list[str], pc: int) -> str:
        """bpf_map_lookup_elem in generated code for the maps that allow it;
        any other map pointer takes the Python helper."""
        done, generic = self.label("lkd"), self.label("lkg")
        cases = [(h, info, self.label("lk")) for h, info in self.maps.items()]
        self.e(f"switch i64 {args[0]}, label %{generic} [" +
               " ".join(f"i64 {signed(h, 64)}, label %{lab}" for h, _, lab in cases) + "]")
        phis = []
        for _h, info, lab in cases:
            self.block(lab)
            if isinstance(info, ArrayInfo):
                v = self._array_lookup(info, args[1], pc)
            else:
                v = self._hash_lookup(info, args[1], pc)
            phis.append((v, self.cur))
            self.e(f"br label %{done}")
        self.block(generic)
        r = self.tramp(HELPER_LOOKUP, pc, "0", tuple(args))
        self.check_status(allow_return=True)
        phis.append((r, self.cur))
        self.e(f"br label %{done}")
        self.block(done)
        res = self.tmp()
        self.e(f"{res} = phi i64 " + ", ".join(f"[{v}, %{b}]" for v, b in phis))
        return res

    def _key_pointer(self, key: str, size: int, pc: int) -> str:
        """Host pointer to ``size`` key bytes at simulated address ``key``."""
        t = self.tmp()
        self.e(f"store i64 {key}, ptr %kreg")
        p, _ = self._host(KEY_REG, 0, size, L.MEM_READ, pc)
        del t
        return p

    def _array_lookup(self, info: ArrayInfo, key: str, pc: int) -> str:
        p = self._key_pointer(key, 4, pc)
        i32 = self.tmp()
        self.e(f"{i32} = load i32, ptr {p}, align 1")
        i = self.tmp()
        self.e(f"{i} = zext i32 {i32} to i64")
        inb = self.tmp()
        self.e(f"{inb} = icmp ult i64 {i}, {info.max_entries}")
        if len(info.bases) == 1:
            base = str(signed(info.bases[0], 64))
        else:
            c = self.tmp()
            self.e(f"{c} = load i64, ptr %cpup")
            ci = self.tmp()
            self.e(f"{ci} = urem i64 {c}, {len(info.bases)}")
            bp = self.tmp()
            self.e(f"{bp} = getelementptr [{len(info.bases)} x i64], ptr @{self.const_array(info.bases)}, "
                   f"i64 0, i64 {ci}")
            base = self.tmp()
            self.e(f"{base} = load i64, ptr {bp}")
        off = self.tmp()
        self.e(f"{off} = mul i64 {i}, {info.stride}")
        addr = self.tmp()
        self.e(f"{addr} = add i64 {base}, {off}")
        r = self.tmp()
        self.e(f"{r} = select i1 {inb}, i64 {addr}, i64 0")
        return r

    def _hash_lookup(self, info: HashInfo, key: str, pc: int) -> str:
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
            self.e(f"{kp} = getelementptr i64, ptr {ep}, i64 {2 + j}")
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
        vp = self.tmp()
        self.e(f"{vp} = getelementptr i64, ptr {ep}, i64 1")
        v = self.tmp()
        self.e(f"{v} = load i64, ptr {vp}")
        self.e(f"br label %{out}")
        self.block(miss)
        self.e(f"br label %{out}")
        self.block(out)
        r = self.tmp()
        self.e(f"{r} = phi i64 [{v}, %{found}], [0, %{miss}]")
        return r

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
