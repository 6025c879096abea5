"""The README's ten-line example runs and prints what its comments say."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Ten lines of Python\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 11
    block = block.replace("/tmp/xdpfw.bpf.o", str(tmp_path / "xdpfw.bpf.o"))
    r = subprocess.run([sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "2", "1"]


def test_readme_lists_every_cli_verb():
    from ebpf.cli import build_parser

    text = (ROOT / "README.md").read_text()
    parser = build_parser()
    verbs = next(a for a in parser._actions if a.dest == "verb").choices
    for verb in verbs:
        assert f"`ebpf {verb}" in text, verb


def _readme_commands() -> list[tuple[str, str]]:
    """(command, comment) of each line of the README's examples block."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"\n```\n(sudo \.venv/bin/ebpf tool .*?)```", text, re.S).group(1)
    return [(line.split("  #")[0].strip(), line.partition("  #")[2])
            for line in block.splitlines() if line.strip()]


@pytest.mark.kernel
def test_readme_commands_run_as_written(tmp_path):
    """Every command of the README's examples block runs from a fresh directory as
    written (as root: `sudo` dropped; `.venv/bin/` is this interpreter's); the ones
    that run until Ctrl-C get a SIGINT and must exit cleanly."""
    import os
    import shutil
    import signal
    import time

    venv_bin = Path(sys.executable).parent
    work = tmp_path / "repo"
    work.mkdir()
    (work / "src").symlink_to(ROOT / "src")
    commands = _readme_commands()
    assert any("--write-pcap traffic.pcap" in c for c, _ in commands)
    for command, comment in commands:
        argv = shlex.split(command.removeprefix("sudo "))
        if argv[0].startswith(".venv/bin/"):
            name = argv[0].removeprefix(".venv/bin/")
            argv[0] = str(venv_bin / name) if (venv_bin / name).exists() else shutil.which(name)
        errfile = tmp_path / "stderr"
        with open(errfile, "w+") as errf:
            # Ctrl-C as in a terminal: a test run started in the background (SIGINT
            # ignored, which the child would inherit) must not turn it off
            p = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=errf,
                                 text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            if "Ctrl-C" in comment:
                # Ctrl-C once it runs (attached), however long a busy machine takes to get there
                deadline = time.monotonic() + 120
                while p.poll() is None and "attached" not in errfile.read_text():
                    assert time.monotonic() < deadline, f"{command}: never attached"
                    time.sleep(0.1)
                time.sleep(0.5)
                p.send_signal(signal.SIGINT)
            try:
                out, _ = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                state = _process_state(p.pid)
                p.kill()
                p.communicate()
                pytest.fail(f"{command}: still running 120 s after Ctrl-C\n{state}\n"
                            f"stderr:\n{errfile.read_text()}")
        err = errfile.read_text()
        assert p.returncode == 0, f"{command}\n{err}"
        assert "Traceback" not in err, f"{command}\n{err}"
        assert out.strip(), command


def _process_state(pid: int) -> str:
    """What a stuck process is doing (its state, kernel stack and Python threads' wait
    channels), for the failure message."""
    parts = []
    for name in ("status", "wchan", "stack"):
        try:
            text = Path(f"/proc/{pid}/{name}").read_text()
        except OSError as e:
            text = str(e)
        if name == "status":
            text = "".join(line for line in text.splitlines(True)
                           if line.startswith(("State", "SigPnd", "ShdPnd", "SigBlk", "SigCgt")))
        parts.append(f"{name}: {text.strip()}")
    return "\n".join(parts)


def test_front_end_errors_are_one_line(tmp_path):
    for argv in (["ebpf", "tool", "xdpfw"], ["examples/xdpfw/xdpfw.py"]):
        cmd = [sys.executable, "-m", *argv] if argv[0] == "ebpf" else \
            [sys.executable, str(ROOT / argv[0])]
        r = subprocess.run([*cmd, "--pcap", str(tmp_path / "missing.pcap"), "--backend", "vm"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert "missing.pcap: no such file" in r.stderr and "--write-pcap" in r.stderr
        (tmp_path / "bad.pcap").write_bytes(b"nope")
        r = subprocess.run([*cmd, "--pcap", str(tmp_path / "bad.pcap"), "--backend", "vm"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert "error: pcap: file shorter" in r.stderr.strip().splitlines()[-1]
