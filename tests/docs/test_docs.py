"""The pages under docs/ that engineer W owns are proven by running them.

- ```python blocks run (each on its own, in a fresh temp dir); a first line
  ``# needs: kernel`` marks the case ``kernel``; each ``# prints: TEXT`` comment
  must match a line the block printed. ```python-snippet blocks are illustrative and not run.
- a fenced block whose first line is ``// file: NAME`` is written (without that
  line) to NAME in the temp dir of every runnable block of the page.
- ```console blocks whose first line is ``# run`` run each ``$ ebpf ...`` line;
  every non-empty output line shown must appear in what the command printed
  (``...`` elides: the pieces around it must appear in that order in one line);
  a trailing ``< FILE`` feeds FILE on stdin.
- every ``ebpf.<name>`` path written in backticks must exist.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = ["index.md", "isa.md", "btf.md", "compile.md", "kernel.md", "attach.md", "vm.md",
         "errors.md", "export.md",
         "verifier.md", "stacks.md"]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass
class Block:
    page: str
    lang: str
    text: str
    line: int

    @property
    def first(self) -> str:
        return self.text.split("\n", 1)[0].strip()


def _blocks(page: str) -> list[Block]:
    path = DOCS / page
    if not path.exists():
        return []
    src = path.read_text()
    return [Block(page, m.group(1), m.group(2), src.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(src)]


def _c_files(page: str) -> dict[str, str]:
    files = {}
    for b in _blocks(page):
        m = re.match(r"//\s*file:\s*(\S+)", b.first)
        if m:  # written without the marker line
            files[m.group(1)] = b.text.split("\n", 1)[1] if "\n" in b.text else ""
    return files


def _needs_kernel(b: Block) -> bool:
    return any(ln.strip() == "# needs: kernel" for ln in b.text.splitlines()[:2])


def _cases(kind: str):
    for page in PAGES:
        for b in _blocks(page):
            if kind == "python" and b.lang == "python":
                pass
            elif kind == "console" and b.lang == "console" and b.first == "# run":
                pass
            else:
                continue
            marks = [pytest.mark.kernel] if _needs_kernel(b) else []
            yield pytest.param(b, id=f"{page}:{b.line}", marks=marks)


def _workdir(tmp_path: Path, page: str) -> Path:
    for name, text in _c_files(page).items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("block", list(_cases("python")))
def test_python_block(block: Block, tmp_path, monkeypatch):
    monkeypatch.chdir(_workdir(tmp_path, block.page))
    code = compile(block.text, f"{block.page}:{block.line}", "exec")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"__name__": "__docs__"})
    # Output shown in the block as "# prints: ..." comments must be what was printed.
    expected = [m.group(1).strip() for m in re.finditer(r"#\s*prints?:\s*(.*)", block.text)]
    printed = out.getvalue()
    for want in expected:
        assert _matches(want, printed.splitlines()), f"{want!r} not in output:\n{printed}"


def _matches(expected: str, lines: list[str]) -> bool:
    pieces = [" ".join(p.split()) for p in expected.split("...")]
    for line in lines:
        line = " ".join(line.split())
        pos = 0
        for piece in pieces:
            i = line.find(piece, pos)
            if i < 0:
                break
            pos = i + len(piece)
        else:
            return True
    return False


def _commands(text: str) -> list[tuple[str, list[str]]]:
    cmds: list[tuple[str, list[str]]] = []
    for line in text.splitlines()[1:]:
        if line.startswith("$ "):
            cmds.append((line[2:], []))
        elif cmds and line.strip() and line.strip() != "...":
            cmds[-1][1].append(line)
    return cmds


@pytest.mark.parametrize("block", list(_cases("console")))
def test_console_block(block: Block, tmp_path):
    cwd = _workdir(tmp_path, block.page)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), COLUMNS="200")
    for cmd, expected in _commands(block.text):
        argv = shlex.split(cmd)
        stdin = None
        if len(argv) > 2 and argv[-2] == "<":
            stdin = (cwd / argv[-1]).read_text()
            argv = argv[:-2]
        assert argv[0] == "ebpf", f"{block.page}:{block.line}: only `ebpf` commands run: {cmd}"
        r = subprocess.run([sys.executable, "-m", "ebpf", *argv[1:]], cwd=cwd, env=env,
                           input=stdin, capture_output=True, text=True, timeout=60)
        lines = (r.stdout + r.stderr).splitlines()
        for want in expected:
            assert _matches(want, lines), (
                f"{block.page}:{block.line}: `{cmd}` (exit {r.returncode}) did not print "
                f"{want!r}:\n{r.stdout}{r.stderr}")


def _resolve(path: str) -> object:
    parts = path.split(".")
    obj: object = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def _mentioned_names() -> list[tuple[str, str]]:
    names = set()
    for page in PAGES:
        path = DOCS / page
        if not path.exists():
            continue
        text = FENCE.sub("", path.read_text())
        for span in re.findall(r"`([^`\n]+)`", text):
            for m in re.finditer(r"(?<![\w.])(ebpf(?:\.[A-Za-z_]\w*)+)", span):
                names.add((page, m.group(1)))
    return sorted(names)


@pytest.mark.parametrize(("page", "name"), _mentioned_names())
def test_named_api_exists(page: str, name: str):
    try:
        _resolve(name)
    except (AttributeError, ImportError) as e:
        pytest.fail(f"{page} mentions `{name}`, which does not exist: {e}")


def test_pages_exist_and_index_links_them():
    index = (DOCS / "index.md").read_text()
    for page in PAGES[1:]:
        assert (DOCS / page).exists(), page
        assert f"({page})" in index, f"index.md does not link {page}"


def test_harness_finds_what_it_checks():
    # the checks above cannot pass by finding nothing
    assert len(list(_cases("python"))) >= 30
    assert len(list(_cases("console"))) >= 5
    assert len(_mentioned_names()) >= 100
    assert {"count.bpf.c", "percpu.bpf.c"} <= set(_c_files("kernel.md"))


def test_harness_matching():
    assert _matches("a ... c", ["x a b c"])
    assert not _matches("c ... a", ["a b c"])
    assert _commands("# run\n$ ebpf x\nout\n...\n$ ebpf y\n") == [("ebpf x", ["out"]), ("ebpf y", [])]


def test_vm_helpers_listed_exist():
    from ebpf import HelperId
    from ebpf.vm import helpers

    text = (DOCS / "vm.md").read_text()
    section = text.split("## Helpers", 1)[1]
    helper_list = section.split("at least:\n\n", 1)[1].split("\n\n", 1)[0]
    kfunc_list = section.split("kfuncs the runtime provides", 1)[1].split("\n\n", 1)[0]
    names = re.findall(r"`([a-z_0-9]+)`", helper_list + kfunc_list)
    assert len(names) > 50
    for name in names:
        if name.startswith("bpf_"):
            assert name in helpers.KFUNCS, name
        else:
            assert int(HelperId[name]) in helpers.HELPERS, name


def test_vm_map_types_listed_exist():
    import ebpf
    from ebpf.vm import maps

    text = (DOCS / "vm.md").read_text()
    listed = text.split("with the kernel's semantics and errnos: ", 1)[1].split(".", 1)[0]
    names = [n.strip() for n in listed.replace("\n", " ").split(",")]
    assert len(names) > 15
    for name in names:
        assert ebpf.MapType[name] in maps._TYPES, name
    # the list is every map type the vm has
    assert {ebpf.MapType[n] for n in names} == set(maps._TYPES)
