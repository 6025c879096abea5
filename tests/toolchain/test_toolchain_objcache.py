"""The compile cache (``compile(..., cache=True)``): a second compile of unchanged
files runs no compiler; any change to the source, a header it includes, the flags or
the compiler compiles again."""

from __future__ import annotations

import pytest

import ebpf
from ebpf.toolchain import compile, driver, objcache

SRC = """#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "answer.h"
SEC("xdp") int f(struct xdp_md *ctx) { return ANSWER; }
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("EBPF_COMPILE_CACHE", raising=False)
    (tmp_path / "answer.h").write_text("#define ANSWER 2\n")
    src = tmp_path / "p.bpf.c"
    src.write_text(SRC)
    calls: list[list[str]] = []
    real = driver._run

    def counting(cmd, *a, **k):
        calls.append(cmd)
        return real(cmd, *a, **k)

    monkeypatch.setattr(driver, "_run", counting)
    return tmp_path, src, calls


def retval(obj_path) -> int:
    with ebpf.load(obj_path, backend="vm") as obj:
        return obj.programs["f"].test_run(b"\0" * 64).retval


def test_second_compile_runs_no_compiler(project):
    d, src, calls = project
    a = compile(src, d / "a.o", cc="zig", cache=True)
    assert len(calls) == 1 and "-MD" in calls[0]
    b = compile(src, d / "b.o", cc="zig", cache=True)
    assert len(calls) == 1  # served from the cache
    assert a.read_bytes() == b.read_bytes() and retval(b) == 2
    assert not list(d.glob("*.d"))  # the dependency list is not left beside the object


def test_changes_compile_again(project):
    d, src, calls = project
    compile(src, d / "a.o", cc="zig", cache=True)
    (d / "answer.h").write_text("#define ANSWER 1\n")  # an included header
    assert retval(compile(src, d / "a.o", cc="zig", cache=True)) == 1 and len(calls) == 2
    compile(src, d / "a.o", cc="zig", cache=True, defines={"X": 1})  # other flags
    assert len(calls) == 3
    src.write_text(SRC.replace("return ANSWER", "return ANSWER + 2"))  # the source
    assert retval(compile(src, d / "a.o", cc="zig", cache=True)) == 3 and len(calls) == 4
    compile(src, d / "a.o", cc="zig", cache=True)
    assert len(calls) == 4


def test_damaged_entries_are_not_served(project):
    d, src, calls = project
    compile(src, d / "a.o", cc="zig", cache=True)
    for obj in objcache.cache_dir().glob("*.o"):
        obj.write_bytes(b"garbage")
    assert retval(compile(src, d / "a.o", cc="zig", cache=True)) == 2 and len(calls) == 2
    for manifest in objcache.cache_dir().glob("*.json"):
        manifest.write_text("{not json")
    assert retval(compile(src, d / "a.o", cc="zig", cache=True)) == 2 and len(calls) == 3


def test_cache_off_by_default_and_by_environment(project, monkeypatch):
    d, src, calls = project
    compile(src, d / "a.o", cc="zig")
    compile(src, d / "a.o", cc="zig")
    assert len(calls) == 2 and "-MD" not in calls[0]
    monkeypatch.setenv("EBPF_COMPILE_CACHE", "0")
    compile(src, d / "a.o", cc="zig", cache=True)
    compile(src, d / "a.o", cc="zig", cache=True)
    assert len(calls) == 4


def test_depfile_parsing():
    assert objcache.parse_depfile("o.o: a.c b\\ c.h \\\n d.h\n") == ["a.c", "b c.h", "d.h"]
    assert objcache.parse_depfile("") == []
