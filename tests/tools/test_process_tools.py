"""Process, signal and file-syscall tools against workloads the tests start."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import time

import pytest

pytestmark = pytest.mark.kernel
ME = str(os.getpid())


def test_killsnoop(run_tool):
    child = subprocess.Popen(["sleep", "30"])
    gone = 4194303  # above pid_max's default: no such process

    def workload():
        os.kill(child.pid, signal.SIGTERM)
        with pytest.raises(ProcessLookupError):
            os.kill(gone, 0)
        child.wait()

    r = run_tool("killsnoop", "-p", ME, "-j", "--duration", "0.3", workload=workload)
    ours = [(x["tpid"], x["sig"], x["ret"]) for x in r.records if x["tpid"] in (child.pid, gone)]
    assert ours == [(child.pid, 15, 0), (gone, 0, -3)]
    assert r.records[0]["signal"] == "SIGTERM" and r.records[0]["call"] == "kill"
    txt = run_tool("killsnoop", "-p", ME, "-x", "--duration", "0.2",
                   workload=lambda: pytest.raises(ProcessLookupError, os.kill, gone, 9))
    assert txt.lines[0].split() == ["TIME", "PID", "COMM", "SIG", "TPID", "RESULT"]
    row = next(ln.split() for ln in txt.lines[1:] if str(gone) in ln)
    assert row[1] == ME and row[3:] == ["9", str(gone), "-3"]


def test_exitsnoop(run_tool):
    kids = {}

    span = {}

    def workload():
        t0 = time.monotonic()
        kids["ok"] = subprocess.Popen(["true"])
        kids["code"] = subprocess.Popen(["sh", "-c", "exit 3"])
        kids["killed"] = subprocess.Popen(["sleep", "30"])
        kids["killed"].kill()
        for p in kids.values():
            p.wait()
        span["s"] = time.monotonic() - t0

    r = run_tool("exitsnoop", "-j", "--duration", "0.3", workload=workload)
    by_pid = {x["pid"]: x for x in r.records}
    ok, code, killed = (by_pid[kids[k].pid] for k in ("ok", "code", "killed"))
    assert ok["exit"] == "0" and ok["comm"] == "true" and ok["ppid"] == os.getpid()
    assert code["exit"] == "code 3" and code["exit_code"] == 3
    assert killed["exit"] == "signal 9 (KILL)" and killed["signal"] == 9
    # killed at once: it lived less than the workload took (not its 30 s of sleep)
    assert 0 <= killed["age"] <= span["s"], (killed, span)
    # -x: only the failures
    r = run_tool("exitsnoop", "-x", "--duration", "0.3", workload=workload)
    pids = {int(ln.split()[1]) for ln in r.lines[1:]}
    assert kids["ok"].pid not in pids and kids["code"].pid in pids
    assert r.lines[0].split() == ["PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"]


def test_statsnoop(run_tool, tmp_path):
    there, missing = tmp_path / "there", tmp_path / "missing"
    there.write_text("x")

    def workload():
        os.stat(there)
        with pytest.raises(FileNotFoundError):
            os.stat(missing)
        os.statvfs(there)

    r = run_tool("statsnoop", "-p", ME, "-j", "--duration", "0.3", workload=workload)
    ours = [(x["path"], x["ret"], x["err"]) for x in r.records if str(tmp_path) in x["path"]]
    assert ours == [(str(there), 0, 0), (str(missing), -1, 2), (str(there), 0, 0)]
    assert [x["call"] for x in r.records if str(tmp_path) in x["path"]][2] == "statfs"
    r = run_tool("statsnoop", "-p", ME, "-x", "--duration", "0.3", workload=workload)
    assert [ln.split()[-1] for ln in r.lines[1:] if str(tmp_path) in ln] == [str(missing)]


def test_syncsnoop(run_tool, tmp_path):
    def workload():
        with open(tmp_path / "f", "w") as f:
            for _ in range(3):
                os.fsync(f.fileno())
            for _ in range(2):
                os.fdatasync(f.fileno())
        os.sync()

    r = run_tool("syncsnoop", "-p", ME, "-j", "--duration", "0.3", workload=workload)
    assert collections.Counter(x["call"] for x in r.records) == {"fsync": 3, "fdatasync": 2,
                                                                  "sync": 1}
    r = run_tool("syncsnoop", "-p", ME, "--duration", "0.3", workload=workload)
    assert r.lines[0].split() == ["TIME(s)", "PID", "COMM", "CALL"]
    assert [ln.split()[-1] for ln in r.lines[1:]].count("fsync") == 3


def test_filelife(run_tool, tmp_path):
    import time

    short, kept = tmp_path / "short-lived", tmp_path / "kept"

    def workload():
        short.write_text("x")
        kept.write_text("y")
        time.sleep(0.2)
        os.unlink(short)
        os.mknod(tmp_path / "node")
        os.unlink(tmp_path / "node")

    r = run_tool("filelife", "-p", ME, "-j", "--duration", "0.3", workload=workload)
    got = {x["file"]: x["age"] for x in r.records if str(tmp_path) in x["file"]}
    assert set(got) == {str(short), str(tmp_path / "node")}
    assert 0.2 <= got[str(short)] < 2.0 and got[str(tmp_path / "node")] < 0.2
    r = run_tool("filelife", "-p", ME, "--duration", "0.3",
                 workload=lambda: (short.write_text("z"), short.unlink()))
    assert r.lines[0].split() == ["TIME", "PID", "COMM", "AGE(s)", "FILE"]
    assert [ln.split()[-1] for ln in r.lines[1:]] == ["short-lived"]
