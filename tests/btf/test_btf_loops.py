"""Reference loops in BTF: a blob whose types refer to themselves is refused at
parse time with the loop named, and every walk (render, sizes, resolve, CO-RE)
ends on hand-built or unchecked loops instead of running forever."""

from __future__ import annotations

import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest

import ebpf
from ebpf import btf
from ebpf.btf import types as T
from ebpf.btf.core import resolve_relocation
from ebpf.btf.dump import dump_raw, type_to_json
from ebpf.btf.ext import CoreKind, CORERelocation

from .btf_craft import Blob, loops

LOOPS = {k: v for k, v in loops().items() if k != "linked_list"}


@contextmanager
def deadline(seconds: int = 10):
    """Turn a hang into a test failure (the bug this file guards against)."""
    def expired(*_):
        raise AssertionError(f"still running after {seconds} s: a walk loops forever")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_the_reported_blob_is_small():
    assert 2000 < len(LOOPS["array_self"]) < 4096  # the "3 KB blob" of the report


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_loops_are_refused_at_parse_with_the_loop_named(name):
    with deadline(), pytest.raises(ebpf.BTFError, match=r"reference loop.*->") as info:
        btf.Spec.from_bytes(LOOPS[name])
    assert "type id" in str(info.value)


@pytest.mark.parametrize("fmt", ["c", "raw"])
@pytest.mark.parametrize("name", sorted(LOOPS))
def test_cli_dump_of_a_looping_blob_is_a_clear_error(tmp_path, name, fmt):
    path = tmp_path / f"{name}.btf"
    path.write_bytes(LOOPS[name])
    r = subprocess.run([sys.executable, "-m", "ebpf", "btf", "dump", str(path), "--format", fmt],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout[-500:]
    assert "reference loop" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_pointer_loop_through_a_struct_is_fine():
    spec = btf.Spec.from_bytes(loops()["linked_list"])
    node = spec.type_by_name("struct node")
    assert btf.render_c(node) == "struct node {\n\tstruct node *next;\n\tint v;\n};"
    assert "struct node *next;" in btf.vmlinux_h(spec)
    assert T.sizeof(node) == 16


# every way to walk the types of an unchecked spec must end
WALKS = {
    "repr": repr,
    "type_name": T.type_name,
    "sizeof": T.sizeof,
    "alignof": T.alignof,
    "resolve": T.resolve,
    "skip_qualifiers": T.skip_qualifiers,
    "render_c": btf.render_c,
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_every_walk_of_unchecked_loops_ends(name):
    spec = btf.Spec.from_bytes(LOOPS[name], check=False)
    with deadline():
        for t in spec:
            for walk in WALKS.values():
                try:
                    walk(t)
                except ebpf.BTFError:
                    pass
        for tid in range(1, len(spec) + 1):
            list(dump_raw(spec, [tid]))
            type_to_json(spec, tid)
        try:
            btf.vmlinux_h(spec)
        except ebpf.BTFError as e:
            assert "loop" in str(e) or "itself" in str(e)
        spec.to_bytes()


def _hand_built() -> dict[str, T.Type]:
    i = T.Int("int", 4, signed=True)
    out: dict[str, T.Type] = {}
    a = T.Array(i, i, 4)
    a.type = a
    out["array"] = a
    td = T.Typedef("t", i)
    td.type = td
    out["typedef"] = td
    c = T.Const(i)
    c.type = T.Volatile(c)
    out["const_volatile"] = c
    p = T.Pointer(i)
    p.type = p
    out["pointer"] = p
    tag = T.TypeTag("tag", i)
    tag.type = tag
    out["type_tag"] = tag
    v = T.Var("v", i)
    v.type = v
    out["var"] = v
    cc = T.Const(i)
    cc.type = T.Array(cc, i, 2)
    out["const_array"] = cc
    fp = T.FuncProto(i, [T.FuncParam("x", i)])
    fp.return_type = fp
    fp.params[0].type = fp
    out["func_proto"] = fp
    return out


@pytest.mark.parametrize("name", sorted(_hand_built()))
def test_every_walk_of_hand_built_loops_ends_in_a_btf_error(name):
    t = _hand_built()[name]
    with deadline():
        assert T.type_name(t)  # a name, even for a loop (error messages need one)
        for walk in ("sizeof", "alignof", "render_c"):
            try:
                WALKS[walk](t)
            except ebpf.BTFError:
                pass
        s = btf.Spec()
        s.add(t)  # adding a looping type terminates too
        with pytest.raises(ebpf.BTFError, match="reference loop"):
            btf.Spec.from_bytes(s.to_bytes())
    if name in ("array", "typedef", "const_volatile", "type_tag", "var", "const_array"):
        with pytest.raises(ebpf.BTFError, match="loop"):
            T.sizeof(t)


def _core_specs():
    """A clean local struct s { int a; } and a target whose s.a is a typedef loop."""
    local = Blob()
    i = local.int()
    local.struct("s", 4, [("a", i, 0)])
    target = Blob()
    ti = target.int()
    t = target.next_id()
    target.ref(T.KIND_TYPEDEF, t, "loop_t")
    target.struct("s", 4, [("a", t, 0)])
    return (btf.Spec.from_bytes(bytes(local)),
            btf.Spec.from_bytes(bytes(target), check=False), ti)


@pytest.mark.parametrize("kind", [CoreKind.FIELD_BYTE_OFFSET, CoreKind.FIELD_BYTE_SIZE,
                                  CoreKind.FIELD_SIGNED, CoreKind.TYPE_SIZE,
                                  CoreKind.TYPE_MATCHES, CoreKind.FIELD_EXISTS])
def test_core_relocation_against_a_looping_target_ends(kind):
    local, target, _ = _core_specs()
    access = "0" if kind in (CoreKind.TYPE_SIZE, CoreKind.TYPE_MATCHES) else "0:0"
    relo = CORERelocation(insn_off=0, type_id=2, access_str=access, kind=kind)
    with deadline():
        try:
            r = resolve_relocation(relo, local, target)
        except ebpf.BTFError as e:
            assert "loop" in str(e), str(e)
        else:
            assert r.exists in (True, False)
