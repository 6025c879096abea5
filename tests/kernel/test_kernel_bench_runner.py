"""`make bench` runner: discovery of benchmark scripts and their exit codes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_runner():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_discovers_scripts_with_main(tmp_path):
    run = load_runner()
    (tmp_path / "a_bench.py").write_text("def main():\n    print('a report')\n    return 0\n")
    (tmp_path / "helper.py").write_text("X = 1\n")
    (tmp_path / "_private.py").write_text("def main():\n    return 0\n")
    (tmp_path / "broken.py").write_text("def main(:\n")
    (tmp_path / "run.py").write_text("def main():\n    return 0\n")
    found = [p.name for p in run.discover(tmp_path)]
    assert found == ["a_bench.py"]


def test_run_one_reports_exit_codes(tmp_path, capfd):
    run = load_runner()
    ok = tmp_path / "ok.py"
    ok.write_text("import sys\ndef main():\n    print('report', sys.argv)\n    return 0\n")
    bad = tmp_path / "bad.py"
    bad.write_text("def main():\n    raise SystemExit(3)\n")
    none_rc = tmp_path / "none.py"
    none_rc.write_text("def main():\n    print('no rc')\n")
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ndef main():\n    time.sleep(30)\n")
    assert run.run_one(ok, 60)[0] == 0
    assert "report" in capfd.readouterr().out
    assert run.run_one(bad, 60)[0] == 3
    assert run.run_one(none_rc, 60)[0] == 0
    assert run.run_one(slow, 0.5)[0] is None


def test_real_benchmarks_are_found():
    names = [p.stem for p in load_runner().discover()]
    assert "kernel_load" in names and "kernel_maps" in names
