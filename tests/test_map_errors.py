"""Map misuse from Python gives our own clear errors on both backends (issue #10 §2)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

XDPFW = Path(__file__).resolve().parents[1] / "examples" / "xdpfw" / "xdpfw.bpf.c"
BACKENDS = ["vm", pytest.param("kernel", marks=pytest.mark.kernel)]


@pytest.fixture(scope="module")
def xdpfw_obj(tmp_path_factory):
    return ebpf.compile(XDPFW, tmp_path_factory.mktemp("xdpfw") / "xdpfw.bpf.o")


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_key_type_names_the_expected_type(xdpfw_obj, backend):
    with ebpf.load(xdpfw_obj, backend=backend) as obj:
        m = obj.maps["blocked_ports"]
        with pytest.raises(ebpf.MapTypeError) as e:
            m["x"] = 1          # was a RecursionError
        assert isinstance(e.value, TypeError) and isinstance(e.value, ebpf.MapError)
        assert "blocked_ports" in str(e.value) and "__u16" in str(e.value)
        assert "x" not in m      # dict semantics: a key of the wrong type is not there
        with pytest.raises(ebpf.MapTypeError, match="__u16"):
            m[1.5] = 1
        m[53] = 1
        assert m[53] == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_array_index_out_of_range(xdpfw_obj, backend):
    with ebpf.load(xdpfw_obj, backend=backend) as obj:
        m = obj.maps["action_counters"]       # PERCPU_ARRAY of 5
        with pytest.raises(ebpf.MapIndexError) as e:
            m[10] = [0] * m.num_cpus
        assert isinstance(e.value, IndexError) and e.value.errno == errno.E2BIG
        assert "index 10" in str(e.value) and "0..4" in str(e.value)
        with pytest.raises(KeyError):
            m[10]
        m[4] = [0] * m.num_cpus
