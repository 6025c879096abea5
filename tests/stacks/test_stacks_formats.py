"""Stack buffers, folded text, the flame graph tree and page, pprof encoding
(decoded here with a minimal protobuf wire reader)."""

from __future__ import annotations

import gzip
import json
import re
import struct

import pytest

from ebpf.errors import Error
from ebpf.stacks import (
    StackError,
    StackProfile,
    parse_build_id_frames,
    parse_folded,
    parse_ips,
    to_pprof,
)
from ebpf.stacks.flamegraph import build_tree, flame_graph_html, flame_graph_svg
from ebpf.stacks.profile import Stack
from ebpf.stacks.trace import BUILD_ID_IP, BUILD_ID_VALID, stack_id_error
from ebpf.symbols import Frame


def test_ips_stop_at_the_first_zero():
    raw = struct.pack("<4Q", 0x1000, 0x2000, 0, 0x3000)
    assert parse_ips(raw) == [0x1000, 0x2000]
    assert parse_ips(b"") == []
    with pytest.raises(StackError, match="8-byte"):
        parse_ips(b"\x01\x02\x03")


def test_build_id_frames():
    bid = bytes(range(20))
    raw = (struct.pack("<i20sQ", BUILD_ID_VALID, bid, 0x1234)
           + struct.pack("<i20sQ", BUILD_ID_IP, b"\0" * 20, 0xFFFF0000)
           + struct.pack("<i20sQ", 0, b"\0" * 20, 0) * 2)
    frames = parse_build_id_frames(raw)
    assert [(f.status, f.build_id, f.offset, f.valid) for f in frames] == [
        (BUILD_ID_VALID, bid, 0x1234, True), (BUILD_ID_IP, b"\0" * 20, 0xFFFF0000, False)]
    with pytest.raises(StackError, match="32-byte"):
        parse_build_id_frames(raw[:40])


def test_stack_id_errors_are_named():
    assert stack_id_error(3) is None
    assert "collision" in stack_id_error(-17)
    assert "no stack" in stack_id_error(-14)


def _profile() -> StackProfile:
    p = StackProfile(unit="samples")
    k = Frame(0xFFFFFFFF81000000, "do_syscall_64", "kernel", kernel=True)
    main = Frame(0x401000, "main", "/bin/app")
    outer = Frame(0x401100, "outer", "/bin/app")
    spin = Frame(0x401200, "spin_here", "/bin/app")
    p.add(Stack((spin, outer, main), comm="app", pid=7), 80)
    p.add(Stack((Frame(0x401208, "spin_here", "/bin/app"), outer, main), comm="app", pid=7), 5)
    p.add(Stack((k, Frame(0x7F00, "[unknown]", "/lib/libc.so.6"), main), comm="app", pid=7), 15)
    return p


def test_folded_merges_equal_names_and_marks_kernel_frames():
    folded = _profile().folded()
    assert folded == ("app;main;[unknown] (/lib/libc.so.6);do_syscall_64_[k] 15\n"
                      "app;main;outer;spin_here 85\n")
    assert parse_folded(folded.splitlines()) == {
        "app;main;[unknown] (/lib/libc.so.6);do_syscall_64_[k]": 15, "app;main;outer;spin_here": 85}
    with pytest.raises(Error, match="^line:2: not a folded"):
        parse_folded(["a;b 1", "oops"], "line")


def test_tree_sums_children():
    tree = build_tree({"a;b;c": 3, "a;b": 1, "a;d": 2, "x": 4})
    assert tree["v"] == 10
    a = next(c for c in tree["c"] if c["n"] == "a")
    assert a["v"] == 6 and [c["n"] for c in a["c"]] == ["b", "d"]
    b = a["c"][0]
    assert b["v"] == 4 and b["c"] == [{"n": "c", "v": 3}]


def test_pages_embed_the_tree_safely():
    nasty = {"main;</script><b>x;spin": 3}
    html = flame_graph_html(nasty, title="<t>")
    m = re.search(r'<script type="application/json" id="fg-data">(.*?)</script>', html, re.S)
    assert m and json.loads(m.group(1))["c"][0]["n"] == "main"
    assert "&lt;t&gt;" in html and "<t>" not in html
    svg = flame_graph_svg({"a;b": 1})
    assert svg.startswith("<?xml") and "<![CDATA[" in svg


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
            out.append((num, v))
        elif wire == 2:
            n, i = _varint(buf, i)
            out.append((num, buf[i:i + n]))
            i += n
        else:
            raise AssertionError(f"wire type {wire}")
    return out


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def _packed(data: bytes) -> list[int]:
    out, i = [], 0
    while i < len(data):
        v, i = _varint(data, i)
        out.append(v)
    return out


def test_pprof_decodes_to_the_same_stacks():
    prof = _profile()
    msg = _fields(gzip.decompress(to_pprof(prof, period=10_101_010)))
    strings = [v.decode() for n, v in msg if n == 6]
    assert strings[0] == ""
    funcs = {}
    for n, v in msg:
        if n == 5:
            f = dict(_fields(v))
            funcs[f[1]] = strings[f[2]]
    locs = {}
    for n, v in msg:
        if n == 4:
            f = _fields(v)
            d = dict(f)
            line = dict(_fields(d[4]))
            locs[d[1]] = (funcs[line[1]], d.get(3, 0))
    samples = []
    for n, v in msg:
        if n == 2:
            d = dict(_fields(v))
            names = [locs[i][0] for i in _packed(d[1])]
            samples.append((names, _packed(d[2])[0]))
    assert sorted(samples) == sorted([
        (["spin_here", "outer", "main"], 80), (["spin_here", "outer", "main"], 5),
        (["do_syscall_64", "[unknown] (/lib/libc.so.6)", "main"], 15)])
    stype = dict(_fields(next(v for n, v in msg if n == 1)))
    assert strings[stype[1]] == "samples" and strings[stype[2]] == "count"
    assert dict(msg)[12] == 10_101_010
    addrs = {a for _, a in locs.values()}
    assert 0x401208 in addrs and 0xFFFFFFFF81000000 in addrs
