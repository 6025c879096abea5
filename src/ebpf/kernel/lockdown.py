"""Kernel lockdown: which mode the running kernel is in, and what it refuses.

The lockdown LSM reports its mode in ``/sys/kernel/security/lockdown`` (``none``,
``integrity`` or ``confidentiality``, the active one in brackets). securityfs is
not mounted on every machine: as root, :func:`lockdown_mode` mounts it at
``/sys/kernel/security`` (as an init system would) to read the mode.

A locked-down kernel refuses some program types to everyone, root included: on
this project's CI kernel (``lockdown=integrity``), fentry/fexit, LSM, freplace and
some iterator programs fail to load with EPERM before the verifier runs. Loading
code uses :func:`refusal` to say so instead of blaming a missing capability.

>>> from ebpf.kernel import lockdown
>>> lockdown.lockdown_mode() in ("none", "integrity", "confidentiality", None)
True
"""

from __future__ import annotations

import logging
import os

from ..errors import Error

log = logging.getLogger("ebpf.kernel")

SECURITYFS = "/sys/kernel/security"
LOCKDOWN_FILE = SECURITYFS + "/lockdown"

# Capability bits (linux/capability.h) a fully privileged loader holds.
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39

_mode: str | None = None


def _parse(text: str) -> str | None:
    if "[" in text and "]" in text:
        return text[text.find("[") + 1:text.find("]")].strip() or None
    return None


def lockdown_mode() -> str | None:
    """The kernel's lockdown mode: ``"none"``, ``"integrity"``, ``"confidentiality"``,
    or ``None`` when it cannot be known (securityfs missing and we may not mount it).

    When securityfs is not mounted and we are root, it is mounted at
    ``/sys/kernel/security`` first. A kernel without the lockdown LSM reads as
    ``"none"``. The answer is cached once known (lockdown can only be raised by
    writing to the same file, which this library never does).
    """
    global _mode
    if _mode is not None:
        return _mode
    from .tracefs import _mounts, mount_fs

    if not os.path.exists(LOCKDOWN_FILE) and _mounts().get(SECURITYFS) != "securityfs":
        if not os.path.isdir(SECURITYFS) or not hasattr(os, "geteuid") or os.geteuid() != 0:
            return None
        try:
            mount_fs("securityfs", SECURITYFS, source="securityfs")
        except (Error, OSError) as e:
            log.debug("cannot mount securityfs to read the lockdown mode: %s", e)
            return None
    try:
        with open(LOCKDOWN_FILE) as f:
            mode = _parse(f.read())
    except FileNotFoundError:
        # securityfs is there but the lockdown LSM is not built in: nothing is locked
        mode = "none" if _mounts().get(SECURITYFS) == "securityfs" else None
    except OSError as e:
        log.debug("cannot read %s: %s", LOCKDOWN_FILE, e)
        return None
    _mode = mode
    return mode


def effective_capabilities() -> int:
    """This process's effective capability mask (``CapEff`` of /proc/self/status);
    0 when unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def fully_privileged() -> bool:
    """Whether we hold CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (so an EPERM on a
    program load is not about capabilities)."""
    caps = effective_capabilities()
    return all(caps >> bit & 1 for bit in (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN))


def refusal() -> str | None:
    """The reason to give for an EPERM on loading a trampoline-based (fentry/fexit,
    LSM, freplace) or iterator program, when kernel lockdown is the cause: we hold
    every capability and the kernel is locked down. ``None`` otherwise."""
    mode = lockdown_mode()
    if mode in (None, "none") or not fully_privileged():
        return None
    return f"kernel lockdown ({mode}) refuses fentry/fexit/LSM/iter programs"


__all__ = ["lockdown_mode", "effective_capabilities", "fully_privileged", "refusal"]
