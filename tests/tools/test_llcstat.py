"""llcstat: hardware cache counters where the machine has a PMU; on a machine without
one (a VM without a virtual PMU, like the development VM), the exact reason."""

from __future__ import annotations

import pytest

from ebpf.tools.llcstat import hardware_pmu

from .workloads import go, python_child

pytestmark = pytest.mark.kernel


def _hw_counter_opens() -> bool:
    """Whether perf_event_open() accepts a hardware cache-misses counter here."""
    import os

    from ebpf.errors import Error
    from ebpf.kernel import perf

    attr = perf.PerfEventAttr(type=0, config=3)
    attr.set_sampling(1000, 0)
    try:
        fd = perf.perf_event_open(attr, pid=0, cpu=-1, what="probe")
    except Error:
        return False
    os.close(int(fd))
    return True


def test_llcstat(run_tool):
    if not _hw_counter_opens():
        from ebpf.errors import NotSupportedError

        assert not hardware_pmu()
        with pytest.raises(NotSupportedError) as e:
            run_tool("llcstat", "0.1")
        msg = str(e.value)
        assert "hardware cache counters (PERF_TYPE_HARDWARE" in msg
        assert "no hardware PMU" in msg and "software" in msg
        return
    child = python_child("b = bytearray(64 << 20)\nfor i in range(0, len(b), 64): b[i] = 1\n")
    r = run_tool("llcstat", "-c", "100", "-j", "0.3", workload=lambda: go(child))
    ours = [x for x in r.records if x["pid"] == child.pid]
    assert ours and sum(x["reference"] for x in ours) > 0
