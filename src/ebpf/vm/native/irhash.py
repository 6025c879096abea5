"""IR for hash maps in generated code, through the map's :class:`~.maps.NativeIndex`:
lookup, update (in place when the key is there; an insertion takes a spare
slot and is journalled for the map's key dictionary) and delete (journalled).
Writers hold the index's spin lock; readers do not (entries are published
with their tag last)."""

from __future__ import annotations

from ..memory import DELETED, LIVE
from . import layout as L
from .irbase import KEY_REG, VALUE_REG, signed
from .irmemory import MemoryEmitter
from .maps import MIX, HashInfo, NativeIndex

EEXIST, ENOENT = 17, 2


class HashEmitter(MemoryEmitter):
    """Native hash-map operations."""

    def _key_pointer(self, key: str, size: int, pc: int) -> str:
        """Host pointer to ``size`` key bytes at simulated address ``key``."""
        self.e(f"store i64 {key}, ptr %kreg")
        p, _ = self._host(KEY_REG, 0, size, L.MEM_READ, pc)
        return p

    def _hash_key(self, info: HashInfo, key: str, pc: int) -> tuple[list[str], str]:
        """(the key's words, its hash :func:`~.maps.key_hash`)."""
        ks = info.key_size
        p = self._key_pointer(key, ks, pc)
        words = self._key_words(p, ks)
        h = str(ks)
        for w in words:
            x = self.let(f"xor i64 {h}, {w}")
            y = self.let(f"mul i64 {x}, {signed(MIX, 64)}")
            h = y
        sh = self.let(f"lshr i64 {h}, 29")
        hx = self.let(f"xor i64 {h}, {sh}")
        hv = self.let(f"or i64 {hx}, 2")
        return words, hv

    def _probe(self, idx: NativeIndex, words: list[str], hv: str) -> tuple[str, str]:
        """Walk the probe sequence of ``hv``: (address of the entry holding the
        key or 0, address of the first deleted-or-empty entry on the way)."""
        start = self.let(f"and i64 {hv}, {idx.mask}")
        pre = self.cur
        loop, body, cmp, nxt, found, miss, out, dead = (self.label(x) for x in (
            "hl", "hb", "hc", "hn", "hf", "hm", "ho", "hd"))
        self.e(f"br label %{loop}")
        self.block(loop)
        i, i1, fr, fr1 = self.tmp(), self.tmp(), self.tmp(), self.tmp()
        self.e(f"{i} = phi i64 [{start}, %{pre}], [{i1}, %{nxt}]")
        self.e(f"{fr} = phi i64 [0, %{pre}], [{fr1}, %{nxt}]")
        w = self.let(f"mul i64 {i}, {idx.entry_words}")
        ep = self.let(f"getelementptr i64, ptr inttoptr (i64 {idx.address} to ptr), i64 {w}")
        epi = self.let(f"ptrtoint ptr {ep} to i64")
        tag = self.let(f"load atomic i64, ptr {ep} acquire, align 8")
        empty = self.let(f"icmp eq i64 {tag}, 0")
        self.e(f"br i1 {empty}, label %{miss}, label %{body}")
        self.block(body)
        same = self.let(f"icmp eq i64 {tag}, {hv}")
        self.e(f"br i1 {same}, label %{cmp}, label %{dead}")
        self.block(cmp)
        eq = "true"
        for j, kw in enumerate(words):
            kp = self.let(f"getelementptr i64, ptr {ep}, i64 {idx.key + j}")
            kv = self.let(f"load i64, ptr {kp}")
            e = self.let(f"icmp eq i64 {kv}, {kw}")
            e2 = self.let(f"and i1 {eq}, {e}")
            eq = e2
        self.e(f"br i1 {eq}, label %{found}, label %{dead}")
        self.block(dead)
        isdead = self.let(f"icmp eq i64 {tag}, 1")
        nofree = self.let(f"icmp eq i64 {fr}, 0")
        take = self.let(f"and i1 {isdead}, {nofree}")
        self.e(f"{fr1} = select i1 {take}, i64 {epi}, i64 {fr}")
        self.e(f"br label %{nxt}")
        self.block(nxt)
        ii = self.let(f"add i64 {i}, 1")
        self.e(f"{i1} = and i64 {ii}, {idx.mask}")
        self.e(f"br label %{loop}")
        self.block(found)
        self.e(f"br label %{out}")
        self.block(miss)
        nf = self.let(f"icmp eq i64 {fr}, 0")
        free = self.let(f"select i1 {nf}, i64 {epi}, i64 {fr}")
        self.e(f"br label %{out}")
        self.block(out)
        r, fv = self.tmp(), self.tmp()
        self.e(f"{r} = phi i64 [{epi}, %{found}], [0, %{miss}]")
        self.e(f"{fv} = phi i64 [{epi}, %{found}], [{free}, %{miss}]")
        return r, fv

    def _entry_word(self, ep: str, word: str | int) -> str:
        """Pointer to word ``word`` of the entry at address ``ep``."""
        p = self.tmp()
        self.e(f"{p} = getelementptr i64, ptr {self._ptr_of(ep)}, i64 {word}")
        return p

    def _cpu_index(self, idx: NativeIndex) -> str:
        if idx.ncpu == 1:
            return "0"
        c = self.let("load i64, ptr %cpup")
        return self.let(f"urem i64 {c}, {idx.ncpu}")

    def _cpu_word(self, ep: str, first: int, ci: str) -> str:
        w0 = self.let(f"add i64 {ci}, {first}")
        v = self.tmp()
        self.e(f"{v} = load i64, ptr {self._entry_word(ep, w0)}")
        return v

    def _hash_find(self, info: HashInfo, key: str, pc: int) -> tuple[str, str]:
        """Look ``key`` up: (value address on this CPU or 0, its host address
        or 0). In an LRU map the entry is marked referenced."""
        idx = info.index
        words, hv = self._hash_key(info, key, pc)
        ep, _ = self._probe(idx, words, hv)
        return self._values_of(info, ep)

    def _values_of(self, info: HashInfo, ep: str) -> tuple[str, str]:
        """(value address, host address) on this CPU of the entry at ``ep``
        (0, 0 when ``ep`` is 0); marks an LRU entry referenced."""
        idx = info.index
        hit, miss, out = self.label("vf"), self.label("vm"), self.label("vo")
        found = self.let(f"icmp ne i64 {ep}, 0")
        self.e(f"br i1 {found}, label %{hit}, label %{miss}")
        self.block(hit)
        if info.lru:
            self.e(f"store atomic i64 1, ptr {self._entry_word(ep, idx.REF)} monotonic, align 8")
        ci = self._cpu_index(idx)
        v = self._cpu_word(ep, idx.VALUES, ci)
        h = self._cpu_word(ep, idx.host, ci)
        got = self.cur
        self.e(f"br label %{out}")
        self.block(miss)
        self.e(f"br label %{out}")
        self.block(out)
        r, hr = self.tmp(), self.tmp()
        self.e(f"{r} = phi i64 [{v}, %{got}], [0, %{miss}]")
        self.e(f"{hr} = phi i64 [{h}, %{got}], [0, %{miss}]")
        return r, hr

    def _ictl(self, idx: NativeIndex, word: int) -> str:
        return self.let(f"getelementptr i64, ptr inttoptr (i64 {idx.ctl_address} to ptr), "
                        f"i64 {word}")

    def _ctl_load(self, idx: NativeIndex, word: int) -> tuple[str, str]:
        p = self._ictl(idx, word)
        v = self.let(f"load i64, ptr {p}")
        return p, v

    def _unlock_to(self, idx: NativeIndex, cond: str, target: str) -> None:
        """If ``cond``: unlock and go to ``target``; else go on."""
        out, go = self.label("hu"), self.label("hg")
        self.e(f"br i1 {cond}, label %{out}, label %{go}")
        self.block(out)
        self.e(f"call void @rt_spin_unlock(ptr {self._ictl(idx, idx.LOCK)})")
        self.e(f"br label %{target}")
        self.block(go)

    def _record_word(self, address: int, base: str, j: int) -> str:
        """Pointer to word ``base + j`` of the native array at ``address`` (the
        journal, the spares)."""
        wi = self.let(f"add i64 {base}, {j}")
        return self.let(f"getelementptr i64, ptr inttoptr (i64 {address} to ptr), i64 {wi}")

    def _journal(self, idx: NativeIndex, opn: int, slot: str, words: list[str],
                 jp: str, jn: str) -> None:
        base = self.let(f"mul i64 {jn}, {idx.journal_words}")
        rec = [str(opn), slot, *words]
        for j, v in enumerate(rec):
            self.e(f"store i64 {v}, ptr {self._record_word(idx.journal_address, base, j)}")
        j1 = self.let(f"add i64 {jn}, 1")
        self.e(f"store i64 {j1}, ptr {jp}")

    def _hash_update(self, info: HashInfo, args: list[str], pc: int, generic: str) -> str:
        """bpf_map_update_elem with BPF_ANY, BPF_NOEXIST or BPF_EXIST: in place
        when the key is there; else an insertion with a spare slot, unless the
        map is full, the spares or the journal ran out, or the table needs
        rebuilding (then ``generic``: the Python helper)."""
        idx = info.index
        flags = args[3]
        okf = self.let(f"icmp ult i64 {flags}, 3")
        self.go_on_if(okf, generic, "hup")
        words, hv = self._hash_key(info, args[1], pc)
        self.e(f"store i64 {args[2]}, ptr %vreg")
        src, _ = self._host(VALUE_REG, 0, info.value_size, L.MEM_READ, pc)
        ep, _ = self._probe(idx, words, hv)
        _, dst = self._values_of(info, ep)
        done = self.label("hud")
        phis: list[tuple[str, str]] = []
        there, absent = self.label("hut"), self.label("hua")
        found = self.let(f"icmp ne i64 {ep}, 0")
        self.e(f"br i1 {found}, label %{there}, label %{absent}")
        # the key is there
        self.block(there)
        noexist = self.let(f"icmp eq i64 {flags}, 1")
        phis.append((str(-EEXIST), there))
        self.go_on_unless(noexist, done, "huw")
        self.e(f"call void @llvm.memmove.p0.p0.i64(ptr {self._ptr_of(dst)}, ptr {src}, "
               f"i64 {info.value_size}, i1 false)")
        phis.append(("0", self.cur))
        self.e(f"br label %{done}")
        # the key is not there: insert
        self.block(absent)
        exist = self.let(f"icmp eq i64 {flags}, 2")
        phis.append((str(-ENOENT), absent))
        self.go_on_unless(exist, done, "hul")
        self.e(f"call void @rt_spin_lock(ptr {self._ictl(idx, idx.LOCK)})")
        ep2, free = self._probe(idx, words, hv)
        raced = self.let(f"icmp ne i64 {ep2}, 0")
        self._unlock_to(idx, raced, generic)  # inserted meanwhile: Python decides
        _, count = self._ctl_load(idx, idx.COUNT)
        full = self.let(f"icmp uge i64 {count}, {info.max_entries}")
        self._unlock_to(idx, full, generic)
        jp, jn = self._ctl_load(idx, idx.JOURNAL_N)
        jfull = self.let(f"icmp uge i64 {jn}, {idx.JOURNAL_CAP}")
        self._unlock_to(idx, jfull, generic)
        sp, sn = self._ctl_load(idx, idx.SPARE_N)
        none = self.let(f"icmp eq i64 {sn}, 0")
        self._unlock_to(idx, none, generic)
        ftag = self.tmp()
        self.e(f"{ftag} = load i64, ptr {self._ptr_of(free)}")
        was_empty = self.let(f"icmp eq i64 {ftag}, 0")
        up, used = self._ctl_load(idx, idx.USED)
        grow = self.let(f"zext i1 {was_empty} to i64")
        used1 = self.let(f"add i64 {used}, {grow}")
        crowded = self.let(f"icmp ugt i64 {used1}, {idx.cap * 3 // 4}")
        self._unlock_to(idx, crowded, generic)
        # take the last spare: its slot, value and host addresses
        sn1 = self.let(f"sub i64 {sn}, 1")
        sb = self.let(f"mul i64 {sn1}, {idx.spare_words}")
        spare = [self.let(f"load i64, ptr {self._record_word(idx.spares_address, sb, j)}")
                 for j in range(idx.spare_words)]
        slot, live = spare[0], spare[1]
        addrs, hosts = spare[2:2 + idx.ncpu], spare[2 + idx.ncpu:]
        # the value: zero on every CPU, then this CPU's copy
        for h in hosts:
            self.e(f"call void @llvm.memset.p0.i64(ptr {self._ptr_of(h)}, i8 0, "
                   f"i64 {info.stride}, i1 false)")
        ci = self._cpu_index(idx)
        mine = hosts[0]
        if idx.ncpu > 1:
            arr = self.let(f"alloca [{idx.ncpu} x i64]")
            for c, h in enumerate(hosts):
                p = self.let(f"getelementptr [{idx.ncpu} x i64], ptr {arr}, i64 0, i64 {c}")
                self.e(f"store i64 {h}, ptr {p}")
            p = self.let(f"getelementptr [{idx.ncpu} x i64], ptr {arr}, i64 0, i64 {ci}")
            mine = self.let(f"load i64, ptr {p}")
        self.e(f"call void @llvm.memmove.p0.p0.i64(ptr {self._ptr_of(mine)}, ptr {src}, "
               f"i64 {info.value_size}, i1 false)")
        # the entry, its tag last
        self.e(f"store i64 0, ptr {self._entry_word(free, idx.REF)}")
        self.e(f"store i64 {slot}, ptr {self._entry_word(free, idx.SLOT)}")
        self.e(f"store i64 {live}, ptr {self._entry_word(free, idx.LIVE)}")
        self.e(f"store i8 {LIVE}, ptr {self._ptr_of(live)}")  # an element now
        for c in range(idx.ncpu):
            self.e(f"store i64 {addrs[c]}, ptr {self._entry_word(free, idx.VALUES + c)}")
            self.e(f"store i64 {hosts[c]}, ptr {self._entry_word(free, idx.host + c)}")
        for j, w in enumerate(words):
            self.e(f"store i64 {w}, ptr {self._entry_word(free, idx.key + j)}")
        self.e(f"store atomic i64 {hv}, ptr {self._ptr_of(free)} release, align 8")
        self.e(f"store i64 {used1}, ptr {up}")
        c1 = self.let(f"add i64 {count}, 1")
        self.e(f"store i64 {c1}, ptr {self._ictl(idx, idx.COUNT)}")
        self.e(f"store i64 {sn1}, ptr {sp}")
        self._journal(idx, idx.INSERT, slot, words, jp, jn)
        self.e(f"call void @rt_spin_unlock(ptr {self._ictl(idx, idx.LOCK)})")
        phis.append(("0", self.cur))
        self.e(f"br label %{done}")
        self.block(done)
        return self.let("phi i64 " + ", ".join(f"[{signed(int(v), 64)}, %{b}]" for v, b in phis))

    def _hash_delete(self, info: HashInfo, args: list[str], pc: int, generic: str) -> str:
        """bpf_map_delete_elem: the entry dies and the deletion is journalled
        (a full journal: ``generic``); a missing key gives -ENOENT."""
        idx = info.index
        words, hv = self._hash_key(info, args[1], pc)
        self.e(f"call void @rt_spin_lock(ptr {self._ictl(idx, idx.LOCK)})")
        ep, _ = self._probe(idx, words, hv)
        done, missing = self.label("hdd"), self.label("hdm")
        nf = self.let(f"icmp eq i64 {ep}, 0")
        self._unlock_to(idx, nf, missing)
        slot = self.tmp()
        self.e(f"{slot} = load i64, ptr {self._entry_word(ep, idx.SLOT)}")
        jp, jn = self._ctl_load(idx, idx.JOURNAL_N)
        sp, sn = self._ctl_load(idx, idx.SPARE_N)
        # deleting what this batch inserted (the journal's last record): both
        # cancel, and the slot is a spare again (Python never saw it)
        hasj = self.let(f"icmp ne i64 {jn}, 0")
        j1 = self.let(f"sub i64 {jn}, 1")
        jl = self.let(f"select i1 {hasj}, i64 {j1}, i64 0")
        jb = self.let(f"mul i64 {jl}, {idx.journal_words}")
        rec = [self.let(f"load i64, ptr {self._record_word(idx.journal_address, jb, j)}")
               for j in range(2)]
        conds = [hasj]
        for a, b in ((rec[0], str(idx.INSERT)), (rec[1], slot)):
            c = self.let(f"icmp eq i64 {a}, {b}")
            conds.append(c)
        room = self.let(f"icmp ult i64 {sn}, {idx.SPARE_CAP}")
        conds.append(room)
        cancel = conds[0]
        for c in conds[1:]:
            t = self.let(f"and i1 {cancel}, {c}")
            cancel = t
        undo, keep = self.label("hdu"), self.label("hdk")
        self.e(f"br i1 {cancel}, label %{undo}, label %{keep}")
        self.block(undo)
        lv0 = self._kill(idx, ep)
        self.e(f"store i64 {j1}, ptr {jp}")
        sb = self.let(f"mul i64 {sn}, {idx.spare_words}")
        vals = [slot, lv0] + [self._entry_value(ep, idx.VALUES + c) for c in range(idx.ncpu)] \
            + [self._entry_value(ep, idx.host + c) for c in range(idx.ncpu)]
        for j, v in enumerate(vals):
            self.e(f"store i64 {v}, ptr {self._record_word(idx.spares_address, sb, j)}")
        sn1 = self.let(f"add i64 {sn}, 1")
        self.e(f"store i64 {sn1}, ptr {sp}")
        self.e(f"call void @rt_spin_unlock(ptr {self._ictl(idx, idx.LOCK)})")
        undone = self.cur
        self.e(f"br label %{done}")
        self.block(keep)
        jfull = self.let(f"icmp uge i64 {jn}, {idx.JOURNAL_CAP}")
        self._unlock_to(idx, jfull, generic)
        self._kill(idx, ep)
        self._journal(idx, idx.DELETE, slot, words, jp, jn)
        self.e(f"call void @rt_spin_unlock(ptr {self._ictl(idx, idx.LOCK)})")
        ok = self.cur
        self.e(f"br label %{done}")
        self.block(missing)
        self.e(f"br label %{done}")
        self.block(done)
        return self.let(f"phi i64 [0, %{ok}], [0, %{undone}], [{-ENOENT}, %{missing}]")

    def _entry_value(self, ep: str, word: int) -> str:
        v = self.tmp()
        self.e(f"{v} = load i64, ptr {self._entry_word(ep, word)}")
        return v

    def _kill(self, idx: NativeIndex, ep: str) -> str:
        """The entry at ``ep`` dies: its tag, its element's live byte (deleted:
        reachable until the run ends, as after the Python helper's deletion),
        the count. Returns the live byte's address."""
        self.e(f"store atomic i64 1, ptr {self._ptr_of(ep)} release, align 8")
        lv = self._entry_value(ep, idx.LIVE)
        self.e(f"store i8 {DELETED}, ptr {self._ptr_of(lv)}")
        cp, count = self._ctl_load(idx, idx.COUNT)
        c1 = self.let(f"sub i64 {count}, 1")
        self.e(f"store i64 {c1}, ptr {cp}")
        return lv

    def _ptr_of(self, value: str) -> str:
        return self.let(f"inttoptr i64 {value} to ptr")

    def _key_words(self, p: str, size: int) -> list[str]:
        """The key's 8-byte little-endian words (the last zero-padded)."""
        words = []
        for off in range(0, size, 8):
            n = min(8, size - off)
            parts = []
            o = 0
            while o < n:
                c = 8 if n - o >= 8 else 4 if n - o >= 4 else 2 if n - o >= 2 else 1
                q = self.let(f"getelementptr i8, ptr {p}, i64 {off + o}")
                v = self.let(f"load i{c * 8}, ptr {q}, align 1")
                if c < 8:
                    z = self.let(f"zext i{c * 8} {v} to i64")
                    v = z
                if o:
                    s2 = self.let(f"shl i64 {v}, {o * 8}")
                    v = s2
                parts.append(v)
                o += c
            w = parts[0]
            for part in parts[1:]:
                t = self.let(f"or i64 {w}, {part}")
                w = t
            words.append(w)
        return words

