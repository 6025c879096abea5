"""The package itself: cheap import, public names, the error hierarchy."""

from __future__ import annotations

import errno
import pickle
import subprocess
import sys

import pytest

import ebpf
from ebpf import errors


def test_import_is_cheap_and_side_effect_free():
    # what is imported, not how long it takes (that is `make bench`'s: a time limit
    # fails whenever the machine is busy)
    code = ("import sys; import ebpf; "
            "print(sorted(m for m in sys.modules if m.startswith(('ebpf.kernel', 'ebpf.btf', "
            "'ebpf.vm', 'elftools', 'llvmlite', 'numpy', 'yaml', 'prometheus_client', 'z3', "
            "'capstone'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy = out.stdout.strip()
    assert heavy == "[]", f"import ebpf must not import backends, BTF or heavy deps: {heavy}"


def test_public_names_resolve():
    for name in ("ObjectSpec", "ProgramSpec", "MapSpec", "Object", "Program", "Map", "Link",
                 "load", "RunResult", "Struct", "isa"):
        assert getattr(ebpf, name) is not None
    with pytest.raises(AttributeError):
        ebpf.no_such_name  # noqa: B018


def test_errors_derive_from_base_and_keep_errno():
    e = errors.MapError("updating map counts", errno.E2BIG)
    assert isinstance(e, ebpf.Error) and isinstance(e, OSError)
    assert e.errno == errno.E2BIG
    assert "updating map counts" in str(e) and "E2BIG" in str(e)


def test_privilege_error_names_capability():
    e = errors.PrivilegeError("loading program p", errno.EPERM, capability="CAP_BPF")
    assert isinstance(e, PermissionError) and isinstance(e, ebpf.Error)
    assert e.capability == "CAP_BPF"
    assert "CAP_BPF" in str(e)


def test_privilege_error_with_a_reason_names_no_capability():
    reason = "kernel lockdown (integrity) refuses fentry/fexit/LSM/iter programs"
    e = errors.PrivilegeError("loading program p", errno.EPERM, reason=reason)
    assert e.capability is None and e.reason == reason
    assert str(e) == f"loading program p ({reason}): Operation not permitted (EPERM)"
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == str(e) and again.capability is None


def test_verifier_error_summary_and_log():
    log = "0: (b7) r0 = 0\n1: (95) exit\nR0 !read_ok\nprocessed 2 insns (limit 1000000)\n"
    e = errors.VerifierError("loading program p", log, errno.EACCES)
    assert e.log == log
    assert "R0 !read_ok" in str(e)
    assert "processed 2 insns" not in str(e)
    assert isinstance(e, errors.LoadError)


@pytest.mark.parametrize("err", [
    errors.AttachError("attaching xdp to lo", errno.EBUSY),
    errors.VerifierError("loading p", "0: (95) exit\nR0 !read_ok\n", errno.EACCES, program="p"),
    errors.PrivilegeError("loading p", errno.EPERM, capability="CAP_NET_ADMIN"),
    errors.NotSupportedError("kprobes", "4.1"),
    errors.InstructionError("unknown opcode 0xff", index=3),
    errors.CompileError("clang failed", "x.c:1: error", ["clang"]),
])
def test_errors_pickle(err):
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err)
    assert str(again) == str(err)
    assert again.__dict__ == err.__dict__
    if isinstance(err, OSError):
        assert again.errno == err.errno


def test_not_supported_names_feature_and_version():
    e = errors.NotSupportedError("kprobes", "4.1", "this kernel was built without CONFIG_KPROBES")
    assert e.feature == "kprobes" and e.min_kernel == "4.1"
    assert "CONFIG_KPROBES" in str(e) and "4.1" in str(e)


def test_version_flag_and_spdx_license():
    """`ebpf --version` prints the package version; pyproject's license is an
    SPDX string (the table form makes setuptools warn at install)."""
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    r = subprocess.run([sys.executable, "-m", "ebpf", "--version"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"ebpf {ebpf.__version__}"
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "Apache-2.0"


def test_every_kernel_module_is_an_attribute():
    # ebpf.kernel imports its modules on first use; each one is reachable by name
    import pkgutil

    import ebpf.kernel as kernel

    names = {m.name for m in pkgutil.iter_modules(kernel.__path__) if not m.name.startswith("_")}
    assert names <= kernel._SUBMODULES, sorted(names - kernel._SUBMODULES)
    assert all(getattr(kernel, n).__name__ == f"ebpf.kernel.{n}" for n in names)
