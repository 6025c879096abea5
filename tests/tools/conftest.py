"""Running a tool in-process with a workload started once its programs are attached."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass
class ToolRun:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def records(self) -> list[dict]:
        """The JSON lines of a ``-j`` run."""
        return [json.loads(ln) for ln in self.lines if ln.startswith("{")]


@pytest.fixture
def run_tool(capsys) -> Callable[..., ToolRun]:
    """run_tool(name, *argv, workload=None) -> ToolRun: ``workload()`` runs once the
    tool is attached, before it starts reading; its stdout is captured."""
    from ebpf.tools import run

    def go(name: str, *argv: str, workload: Callable[[], object] | None = None) -> ToolRun:
        capsys.readouterr()
        code = run(name, list(argv), ready=(lambda: workload() and None) if workload else None)
        cap = capsys.readouterr()
        return ToolRun(code, cap.out, cap.err)

    return go
