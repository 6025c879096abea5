"""Whole-spec BTF listings: the word-level fast path and the on-disk cache."""

from __future__ import annotations

import io
import os

import pytest

from ebpf import btf
from ebpf.btf import cache
from ebpf.btf.dump import dump_raw, format_type
from ebpf.cli import main


def every_kind() -> btf.Spec:
    """A spec with a type of every kind (and the signed/64-bit/bit-field variants)."""
    s = btf.Spec()
    i = btf.Int("int", 4, signed=True)
    c = btf.Int("char", 1, signed=True, is_char=True)
    b = btf.Int("_Bool", 1, is_bool=True)
    u = btf.Int("unsigned int", 4)
    st = btf.Struct("pair", 8, [btf.Member("a", i, 0), btf.Member("", u, 32, bitfield_size=3)])
    un = btf.Union("", 4, [btf.Member("x", i, 0)])
    proto = btf.FuncProto(i, [btf.FuncParam("p", btf.Pointer(st)), btf.FuncParam("", c)])
    var = btf.Var("g", i, btf.Linkage.GLOBAL)
    types = [
        i, c, b, u, st, un, btf.Pointer(un), btf.Array(c, i, 16),
        btf.Enum("e", 4, True, [btf.EnumValue("NEG", -1), btf.EnumValue("ONE", 1)]),
        btf.Enum("e64", 8, False, [btf.EnumValue("BIG", 1 << 40)]),
        btf.Enum("s64", 8, True, [btf.EnumValue("M", -(1 << 40))]),
        btf.Fwd("later"), btf.Fwd("ulater", is_union=True), btf.Typedef("pair_t", st),
        btf.Volatile(i), btf.Const(i), btf.Restrict(btf.Pointer(i)), btf.TypeTag("user", i),
        proto, btf.Func("f", proto, btf.Linkage.GLOBAL), var,
        btf.Datasec(".data", 4, [btf.VarSecinfo(var, 0, 4)]), btf.Float("double", 8),
        btf.DeclTag("tag", st, 1), btf.DeclTag("tag2", st, -1),
    ]
    for t in types:
        s.add(t)
    return btf.Spec.from_bytes(s.to_bytes())


def object_path(spec: btf.Spec) -> list[str]:
    return [line for tid in spec.own_ids() for line in format_type(spec, tid)]


def test_fast_listing_equals_the_typed_one_for_every_kind():
    spec = every_kind()
    fast = list(dump_raw(spec))
    assert fast == object_path(spec)
    kinds = {line.split()[1] for line in fast if line.startswith("[")}
    assert {"INT", "STRUCT", "UNION", "PTR", "ARRAY", "ENUM", "ENUM64", "FWD", "TYPEDEF",
            "VOLATILE", "CONST", "RESTRICT", "TYPE_TAG", "FUNC_PROTO", "FUNC", "VAR",
            "DATASEC", "FLOAT", "DECL_TAG"} <= kinds
    assert "\t'(anon)' type_id=4 bits_offset=32 bitfield_size=3" in fast
    assert "\t'NEG' val=-1" in fast and "\t'M' val=-1099511627776LL" in fast


def test_types_added_after_parsing_are_listed_too():
    spec = every_kind()
    extra = btf.Int("long", 8, signed=True)
    spec.add(extra)
    assert list(dump_raw(spec)) == object_path(spec)
    assert list(dump_raw(spec))[-1].endswith("INT 'long' size=8 bits_offset=0 nr_bits=64 "
                                             "encoding=SIGNED")


def test_kernel_listing_equals_the_typed_one():
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no kernel BTF on this machine")
    spec = btf.load_kernel_btf()
    assert list(dump_raw(spec)) == object_path(spec)


def run_cli(argv: list[str]) -> str:
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--format", "c"]])
def test_cli_whole_dumps_are_cached(tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    raw = tmp_path / "every.btf"
    raw.write_bytes(every_kind().to_bytes())
    first = run_cli(["btf", "dump", str(raw), *fmt])
    files = list((tmp_path / "cache" / "ebpf" / "btf").glob("*/*"))
    assert len(files) == 1 and files[0].read_text() == first

    def no_work(*a, **k):
        raise AssertionError("rendered again instead of reading the cache")

    monkeypatch.setattr("ebpf.btf.dump.format_type", no_work)
    monkeypatch.setattr("ebpf.btf.dump._raw_lines", no_work)
    monkeypatch.setattr("ebpf.btf.dump.type_to_json", no_work)
    monkeypatch.setattr("ebpf.btf.vmlinux_h", no_work)
    assert run_cli(["btf", "dump", str(raw), *fmt]) == first


def test_cache_key_follows_the_bytes_and_the_renderer(monkeypatch):
    a, b = every_kind(), every_kind()
    assert cache.key(a) == cache.key(b) == cache.key(a.to_bytes())
    b.add(btf.Int("long", 8, signed=True))
    assert cache.key(a) != cache.key(b)
    k = cache.key(a)
    cache.renderer_fingerprint.cache_clear()
    monkeypatch.setattr(cache, "renderer_fingerprint", lambda: b"another renderer")
    assert cache.key(a) != k


def test_unwritable_cache_falls_back_to_temp(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    path = cache.cached_path(every_kind(), "x.txt", lambda: "text")
    assert path.read_text() == "text" and not path.is_relative_to(blocker)


def test_type_tables_are_kept_between_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    raw = tmp_path / "every.btf"
    raw.write_bytes(every_kind().to_bytes())
    first = cache.parse_cached(raw, raw.read_bytes())

    def no_scan(self):
        raise AssertionError("scanned the type section again")

    monkeypatch.setattr(btf.Spec, "_scan", no_scan)
    again = cache.parse_cached(raw, raw.read_bytes())
    assert list(dump_raw(again)) == list(dump_raw(first))
    assert again.type_by_name("struct pair").size == 8
    for f in (tmp_path / "cache").rglob("scan.bin"):
        f.write_bytes(b"\xff" * 16)  # damaged tables are not trusted
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert list(dump_raw(cache.parse_cached(raw, raw.read_bytes()))) == list(dump_raw(first))


def test_given_type_tables_must_fit():
    spec = every_kind()
    offs, names = spec.scan_tables()
    data = spec.to_bytes()
    assert len(btf.Spec.from_bytes(data, scan=(offs, names))) == len(spec)
    from array import array

    with pytest.raises(btf.BTFError, match="do not fit"):
        btf.Spec.from_bytes(data, scan=(array("I", [10**6]), array("I", [0])))
