"""profile against the real kernel: a known hot path (main -> outer -> spin_here)
sampled for two seconds, from the binary, from a stripped copy with its debug
file elsewhere, with build-id stacks; its flame graph rendered by Chromium;
kernel frames checked against /proc/kallsyms."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil

import pytest
from stack_workloads import Workload, chromium_dom

from ebpf.elf.host import HostELF
from ebpf.stacks import write_flame_graph
from ebpf.symbols import Symbolizer
from ebpf.symbols.debugfile import build_id_path
from ebpf.tools import profile

pytestmark = pytest.mark.kernel

HOT_PATH = ["main", "outer", "spin_here"]


def _user_share(prof, pid: int) -> tuple[float, list[str], int]:
    """(share of ``pid``'s samples whose innermost user frames are the hot path,
    the top user stack root first, total samples of pid)."""
    by_user: dict[tuple[str, ...], int] = {}
    for stack, v in prof.top(pid=pid):
        names = tuple(f.name for f in reversed(stack.frames) if not f.kernel)
        by_user[names] = by_user.get(names, 0) + v
    total = sum(by_user.values())
    top = max(by_user.items(), key=lambda kv: kv[1])[0] if by_user else ()
    hot = sum(v for names, v in by_user.items() if list(names[-3:]) == HOT_PATH)
    return (hot / total if total else 0.0), list(top), total


def _profile(exe, sym=None, **kw):
    with Workload(exe, "3") as w:
        res = profile.record(2.0, frequency=499, pid=w.pid, symbolizer=sym or Symbolizer(),
                             ready=w.go, **kw)
    return res, w.pid


def test_hot_path_is_the_top_stack(workloads, tmp_path):
    res, pid = _profile(workloads["hot"])
    share, top, total = _user_share(res.profile, pid)
    assert total >= 20, f"only {total} samples of the workload"
    assert top[-3:] == HOT_PATH, top
    assert share >= 0.8, (share, res.profile.folded())
    assert res.samples >= total
    # the flame graph of this profile renders in a real browser, names visible
    html = write_flame_graph(res.profile, tmp_path / "cpu.html", title="hot path")
    dom = chromium_dom(html, tmp_path)
    drawn = re.search(r'data-rendered="(\d+)"', dom)
    assert drawn and int(drawn.group(1)) >= 4, dom[:500]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", dom)
    for name in HOT_PATH:
        assert name in texts, (name, texts[:40])
    # search and zoom, through the link's fragment
    dom = chromium_dom(html, tmp_path, fragment="q=spin_h.re")
    matched = re.search(r'id="fg-matched"[^>]*>Matched: ([\d.]+)%<', dom)
    assert matched and float(matched.group(1)) >= 80.0, dom[-3000:]
    purple = re.findall(r'<rect [^>]*fill="rgb\(230,0,230\)"', dom)
    assert len(purple) == 1  # the one spin_here frame
    dom = chromium_dom(html, tmp_path, fragment="zoom=outer")
    outer = re.search(r"<title>outer \(.*?</title><rect ([^>]*)>", dom)
    assert outer and 'width="1179.5"' in outer.group(1), outer  # full width once zoomed
    svg = write_flame_graph(res.profile, tmp_path / "cpu.svg", title="hot path")
    dom = chromium_dom(svg, tmp_path)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", dom)
    assert all(name in texts for name in HOT_PATH), texts[:40]


@pytest.mark.parametrize("how", ["debuglink", "build-id"])
def test_stripped_binary_resolves_through_its_debug_file(stripped_hot, tmp_path, how):
    exe = stripped_hot["exe"]
    assert not HostELF(str(exe)).has_symbols()
    if how == "debuglink":
        run_dir = tmp_path / "bin"
        run_dir.mkdir()
        shutil.copy(exe, run_dir / "hot")
        shutil.copy(stripped_hot["debug"], run_dir / "hot.debug")  # next to the binary
        exe = run_dir / "hot"
        sym = Symbolizer(debug_dirs=[str(tmp_path / "none")])
    else:
        bid = HostELF(str(exe)).build_id()
        path = build_id_path(bid, str(tmp_path / "debug"))
        (tmp_path / "debug" / ".build-id" / bid.hex()[:2]).mkdir(parents=True)
        shutil.copy(stripped_hot["debug"], path)
        sym = Symbolizer(debug_dirs=[str(tmp_path / "debug")])
    res, pid = _profile(exe, sym)
    share, top, total = _user_share(res.profile, pid)
    assert total >= 20 and top[-3:] == HOT_PATH and share >= 0.8, (share, top)


def test_stripped_binary_without_debug_file_shows_unknown_with_module(stripped_hot, tmp_path):
    exe = tmp_path / "hot"  # alone: no debug file next to it, none in the debug dirs
    shutil.copy(stripped_hot["exe"], exe)
    res, pid = _profile(exe, Symbolizer(debug_dirs=[str(tmp_path / "none")]))
    labels = {f.label() for s, _ in res.profile.top(pid=pid) for f in s.frames if not f.kernel}
    assert f"[unknown] ({exe})" in labels, labels
    assert not {"spin_here", "outer"} & labels


def test_build_id_stacks(workloads):
    res, pid = _profile(workloads["hot"], build_ids=True)
    share, top, total = _user_share(res.profile, pid)
    assert total >= 20 and top[-3:] == HOT_PATH and share >= 0.8, (share, top)


def test_kernel_frames_are_names_from_kallsyms(workloads):
    names = set()

    def read_kallsyms_then_go() -> None:
        # read once the profiler is attached: its own JIT-compiled program
        # (bpf_prog_<tag>_do_sample) is listed in kallsyms only while loaded
        with open("/proc/kallsyms") as f:
            for line in f:
                names.add(line.split()[2])
        w.go()

    with Workload(workloads["syscaller"], "3") as w:
        res = profile.record(2.0, frequency=499, pid=w.pid, ready=read_kallsyms_then_go)
    kernel = [f for s, _ in res.profile.top(pid=w.pid) for f in s.frames if f.kernel]
    assert len(kernel) >= 10
    assert all(f.name in names for f in kernel), [f.name for f in kernel if f.name not in names]
    assert {"ksys_write", "vfs_write"} & {f.name for f in kernel}
    # and the user side of those stacks is the writer
    users = {tuple(f.name for f in s.frames if not f.kernel)[:2]
             for s, _ in res.profile.top(pid=w.pid)}
    assert any("write_lots" in u for u in users), users


def test_cli_folded_output_and_files(workloads, tmp_path):
    out = io.StringIO()
    pb, html = tmp_path / "cpu.pb.gz", tmp_path / "cpu.html"
    with Workload(workloads["hot"], "3") as w:
        assert profile.main(["-p", str(w.pid), "-F", "499", "-f", "--pprof", str(pb),
                             "--flamegraph", str(html), "1.5"], out=out, ready=w.go) == 0
    raw = gzip.decompress(pb.read_bytes())
    assert b"spin_here" in raw and b"samples" in raw
    assert '"n":"spin_here"' in html.read_text()
    lines = out.getvalue().splitlines()
    assert lines and all(re.fullmatch(r"\S.* \d+", line) for line in lines), lines[:5]
    hot = [line for line in lines if line.startswith("hot;") and ";main;outer;spin_here" in line]
    assert sum(int(line.rsplit(" ", 1)[1]) for line in hot) >= 10, lines


def test_json_lines(workloads):
    out = io.StringIO()
    with Workload(workloads["hot"], "3") as w:
        assert profile.main(["-p", str(w.pid), "-F", "499", "-j", "1"], out=out, ready=w.go) == 0
    recs = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert recs and all(r["pid"] == w.pid and r["unit"] == "samples" for r in recs)
    names = [f["name"] for f in max(recs, key=lambda r: r["value"])["frames"]]
    assert names[:3] == ["spin_here", "outer", "main"], names


def test_bad_options_are_clear_errors():
    with pytest.raises(SystemExit):
        profile.main(["-U", "-K", "1"])
    with pytest.raises(SystemExit):
        profile.main(["-F", "0", "1"])
