"""The tool registry, `ebpf tool`, `python -m ebpf.tools.NAME`, the object cache, and
the fixes made while moving the examples into the package."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

import ebpf.tools
from ebpf.tools import base

EBPF = [sys.executable, "-m", "ebpf"]


def test_every_registered_tool_has_a_module_a_source_and_help():
    for name in ebpf.tools.names():
        mod = ebpf.tools.load_tool(name)
        assert callable(mod.main), name
        if name != "trace":  # trace generates its C from the probes it is given
            assert base.source_path(name).is_file(), name
        with pytest.raises(SystemExit) as e:
            mod.main(["--help"])
        assert e.value.code == 0


def test_unknown_tool_is_a_clear_error():
    r = subprocess.run([*EBPF, "tool", "nosuchtool"], capture_output=True, text=True)
    assert r.returncode == 1
    assert "no tool named 'nosuchtool'" in r.stderr and "Traceback" not in r.stderr


def test_tool_list_names_every_tool():
    r = subprocess.run([*EBPF, "tool", "list"], capture_output=True, text=True, check=True)
    listed = [ln.split()[0] for ln in r.stdout.splitlines()]
    assert listed == ebpf.tools.names()
    assert "Trace new processes via exec() syscalls" in r.stdout


def test_help_reads_like_the_classic_tool():
    r = subprocess.run([*EBPF, "tool", "execsnoop", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout.startswith("usage: execsnoop")
    for opt in ("-x, --fails", "-T, --timestamp", "-j, --json", "examples:"):
        assert opt in r.stdout


@pytest.mark.kernel
def test_object_cache_compiles_once(tmp_path, monkeypatch):
    """A tool's object lives in the common compile cache; the second start runs no
    compiler; generated C (trace's probes) is cached the same way."""
    from ebpf.toolchain import driver

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("EBPF_COMPILE_CACHE", "1")
    first = base.object_path("sleeplat")
    assert first.parent == tmp_path / "ebpf" / "objects" and first.is_file()
    stamp = first.stat().st_mtime_ns
    gen = base.object_for_text("gen", '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
                               'SEC("tracepoint/syscalls/sys_enter_getpid")\n'
                               'int gen(void *ctx) { return 0; }\n'
                               'char LICENSE[] SEC("license") = "GPL";\n')
    assert gen.parent == first.parent

    def no_compiler(*a, **k):
        raise AssertionError("the compiler ran for a cached object")

    monkeypatch.setattr(driver, "_run", no_compiler)
    monkeypatch.setattr(driver, "_run_trimmed", no_compiler)
    assert base.object_path("sleeplat") == first and first.stat().st_mtime_ns == stamp
    assert base.object_for_text("gen", (tmp_path / "ebpf" / "generated").glob("gen-*.bpf.c")
                                .__next__().read_text()) == gen


@pytest.mark.kernel
def test_python_dash_m_runs_a_tool():
    r = subprocess.run([sys.executable, "-m", "ebpf.tools.execsnoop", "--duration", "0.2",
                        "-P", str(os.getpid())], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["PCOMM", "PID", "PPID", "RET", "ARGS"]


@pytest.mark.kernel
def test_execsnoop_shows_failed_execs_only_with_x(run_tool, tmp_path):
    missing = f"/tmp/no-such-program-{uuid.uuid4().hex[:6]}"
    ok_marker = "ok-" + uuid.uuid4().hex[:8]

    def workload():
        subprocess.run(["/bin/echo", ok_marker], check=True, stdout=subprocess.DEVNULL)
        with pytest.raises(FileNotFoundError):
            subprocess.run([missing])

    me = str(os.getpid())
    plain = run_tool("execsnoop", "-P", me, "--duration", "0.3", workload=workload)
    assert ok_marker in plain.out and missing not in plain.out
    fails = run_tool("execsnoop", "-P", me, "-x", "-j", "--duration", "0.3",
                     workload=workload)
    recs = fails.records
    bad = [r for r in recs if r["args"][:1] == [missing]]
    good = [r for r in recs if ok_marker in r["args"]]
    assert len(bad) == 1 and bad[0]["ret"] == -2  # ENOENT
    assert len(good) == 1 and good[0]["ret"] == 0 and good[0]["comm"] == "echo"


@pytest.mark.kernel
def test_opensnoop_name_filters_by_process_name(run_tool, tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("x")

    def workload():
        subprocess.run(["/bin/cat", str(target)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["/bin/head", "-c1", str(target)], check=True,
                       stdout=subprocess.DEVNULL)

    r = run_tool("opensnoop", "-n", "cat", "-j", "--duration", "0.3", workload=workload)
    ours = [rec for rec in r.records if rec["path"] == str(target)]
    assert [rec["comm"] for rec in ours] == ["cat"]
    assert all("cat" in rec["comm"] for rec in r.records)
    assert ours[0]["fd"] >= 0 and ours[0]["err"] == 0


def test_every_tool_is_run_by_a_test():
    """Each registered tool is driven by some test (tests/tools, tests/examples, or its
    owner's directory, e.g. tests/stacks for profile/offcputime/stackcount)."""
    import re
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    text = "".join(p.read_text() for p in tests.rglob("test_*.py"))
    run = set(re.findall(r'(?:run_tool|load_example)\(\s*"(\w+)"', text))
    for names in re.findall(r"from ebpf\.tools import ([\w, ]+)", text):
        run |= {n.strip() for n in names.split(",")}
    run |= set(re.findall(r'"tool", "(\w+)"', text))
    assert set(ebpf.tools.names()) - run == set()


def test_ports_wanted_filters_local_and_remote_ports():
    import argparse

    wanted = base.ports_wanted(argparse.Namespace(localport="80,443", remoteport=None))
    assert wanted(80, 5000) and wanted(443, 1) and not wanted(8080, 80)
    wanted = base.ports_wanted(argparse.Namespace(localport=None, remoteport="53"))
    assert wanted(1, 53) and not wanted(53, 1)
    assert base.ports_wanted(argparse.Namespace(localport=None, remoteport=None))(1, 2)


@pytest.mark.parametrize("name, argv, event, headings", [
    ("execsnoop", ["-T", "-t", "-u", "1000"],
     dict(retval=0, uid=1000, comm=b"bash", args=[b"ls", b"-l"], args_count=2, pid=123,
          ppid=1),
     ["TIME", "TIME(s)", "UID", "PCOMM", "PID", "PPID", "ARGS"]),
    ("opensnoop", ["-T", "-U", "-e"],
     dict(comm=b"cat", ret=3, fname=b"/etc/passwd", uid=1000, pid=77, flags=0o100644),
     ["TIME", "UID", "PID", "COMM", "FLAGS", "PATH"]),
])
def test_optional_columns_line_up_with_their_headings(monkeypatch, name, argv, event,
                                                       headings):
    """The header and each row come from one column function: every left-aligned
    heading starts where its value does, with every optional column shown."""
    import importlib
    from types import SimpleNamespace

    mod = importlib.import_module(f"ebpf.tools.{name}")
    got = {}

    def fake_stream(tool, args, constants, head, fmt, ready=None, **kw):
        got["head"], got["row"] = head, fmt(SimpleNamespace(**event))[1]
        return 0

    monkeypatch.setattr(mod, "stream", fake_stream)
    monkeypatch.setattr(mod, "hms", lambda t=None: "12:34:56")
    assert mod.main(argv) == 0
    head, row = got["head"], got["row"]
    starts = [head.index(h if i == 0 else f" {h}") + (i > 0) for i, h in enumerate(headings)]
    assert starts == sorted(starts)
    for s in starts:
        assert row[s] != " " and (s == 0 or row[s - 1] == " "), (head, row, s)
