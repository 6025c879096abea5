"""The errors ebpf raises. Everything derives from :class:`Error`.

Errors with an errno behind them (anything from bpf(2) and friends) also derive
from :class:`OSError`, so ``.errno`` survives and ``except OSError`` still works.

>>> import ebpf
>>> try:
...     ebpf.isa.decode(b"\\xff" * 8)
... except ebpf.Error as e:
...     print(type(e).__name__)
InstructionError
"""

from __future__ import annotations

import errno as _errno
import os


class Error(Exception):
    """Base of every error raised by ebpf."""

    #: one more line the ``ebpf`` command prints under the error (how to get past it)
    hint: str = ""

    def __reduce__(self):
        # Subclasses take different constructor arguments; rebuild from the
        # exception args plus the attributes, so errors cross process boundaries.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[Error], args: tuple, state: dict) -> Error:
    obj = cls.__new__(cls)
    base = OSError if issubclass(cls, OSError) else Exception
    base.__init__(obj, *args)
    obj.__dict__.update(state)
    return obj


class InstructionError(Error):
    """An instruction that cannot be decoded, encoded or assembled.

    ``index`` is the instruction's position (in 8-byte slots) when known,
    ``line`` the 1-based source line for the assembler.
    """

    def __init__(self, message: str, *, index: int | None = None, line: int | None = None):
        where = []
        if index is not None:
            where.append(f"instruction {index}")
        if line is not None:
            where.append(f"line {line}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.index = index
        self.line = line
        self.reason = message


class ELFError(Error):
    """An object file that is not a usable eBPF ELF object."""


class BTFError(Error):
    """Malformed or unsupported BTF, or a type that cannot be found."""


class CompileError(Error):
    """The C compiler failed; ``diagnostics`` holds what it printed."""

    def __init__(self, message: str, diagnostics: str = "", command: list[str] | None = None):
        super().__init__(message + (f"\n{diagnostics.rstrip()}" if diagnostics else ""))
        self.diagnostics = diagnostics
        self.command = command or []


class ConfigError(Error):
    """A configuration file (e.g. an ``ebpf export`` YAML config) that cannot be used;
    the message names the file and the setting."""


class NotSupportedError(Error):
    """A feature this kernel (or backend) does not have.

    ``feature`` names it; ``min_kernel`` is the first Linux version with it, when known.
    """

    def __init__(self, feature: str, min_kernel: str | None = None, detail: str = ""):
        msg = f"{feature} is not supported"
        if detail:
            msg += f": {detail}"
        if min_kernel:
            msg += f" (needs Linux {min_kernel} or later)"
        super().__init__(msg)
        self.feature = feature
        self.min_kernel = min_kernel


class SystemCallError(Error, OSError):
    """An operation that failed with an errno (bpf(2), perf_event_open, ...).

    ``str()`` says what was being done; ``.errno`` is the kernel's error number.
    """

    def __init__(self, message: str, errno: int | None = None):
        if errno is None:
            OSError.__init__(self, message)
        else:
            OSError.__init__(self, errno, message)
            message = f"{message}: {os.strerror(errno)} ({_errno.errorcode.get(errno, errno)})"
        self.message = message

    def __str__(self) -> str:
        return self.message


class LoadError(SystemCallError):
    """A program, map or BTF blob could not be loaded."""


class VerifierError(LoadError):
    """The verifier rejected a program.

    ``log`` is the whole verifier log; ``str()`` is a one-line summary plus the
    lines that matter (the failing instruction and the reason).
    """

    def __init__(self, message: str, log: str, errno: int | None = None, program: str = ""):
        self.log = log
        self.program = program
        summary = summarize_verifier_log(log)
        super().__init__(message, errno)
        if summary:
            self.message = f"{self.message}\n{summary}"


def summarize_verifier_log(log: str, context: int = 3) -> str:
    """The lines of a verifier log that explain a rejection: the source line the
    kernel names for the failing instruction (``; if (...) @ prog.bpf.c:11``, when
    the object has BTF line info) and the last few lines before the end-of-log
    statistics.

    >>> print(summarize_verifier_log("; x = *p; @ a.c:3\\n0: (71) r2 = *(u8 *)(r1 +0)\\n"
    ...                              "invalid access\\nprocessed 1 insns"))
    ; x = *p; @ a.c:3
    0: (71) r2 = *(u8 *)(r1 +0)
    invalid access
    """
    lines = [ln for ln in log.splitlines() if ln.strip()]
    while lines and (
        lines[-1].startswith("processed ")
        or lines[-1].startswith("verification time")
        or lines[-1].startswith("stack depth")
    ):
        lines.pop()
    tail = lines[-context:]
    if tail and not any(ln.startswith("; ") for ln in tail):
        for ln in reversed(lines[:-context]):
            if ln.startswith("; "):  # the kernel's line info: the source being verified
                tail.insert(0, ln)
                break
    return "\n".join(tail)


class MapError(SystemCallError):
    """A map operation failed."""


class MapTypeError(MapError, TypeError):
    """A key or value whose Python type cannot be laid out as the map's key or
    value type (``str()`` names the type expected)."""


class MapIndexError(MapError, IndexError):
    """An array index at or past the map's ``max_entries`` (the kernel's E2BIG)."""


class MapFullError(MapError):
    """No room left in the map (E2BIG / ENOSPC)."""


class KeyExistsError(MapError):
    """The key exists and BPF_NOEXIST was asked for (EEXIST)."""


class AttachError(SystemCallError):
    """A program could not be attached (or detached)."""


class PrivilegeError(SystemCallError, PermissionError):
    """Missing privileges; ``capability`` names the one needed (e.g. ``CAP_BPF``).

    When no capability would help (``reason`` given, e.g. kernel lockdown refusing
    a program type to root too), ``capability`` is ``None`` and the message gives
    ``reason`` instead.
    """

    def __init__(self, message: str, errno: int | None = _errno.EPERM,
                 capability: str | None = "CAP_BPF", *, reason: str = ""):
        self.capability = None if reason else capability
        self.reason = reason
        if reason:
            hint = reason
        else:
            hint = f"needs {capability}"
            try:
                with open("/proc/sys/kernel/unprivileged_bpf_disabled") as f:
                    setting = f.read().strip()
                hint += f"; kernel.unprivileged_bpf_disabled={setting}"
            except OSError:
                pass
        super().__init__(f"{message} ({hint})", errno)


class RuntimeFault(Error):
    """A program running in the user-space runtime did something illegal
    (out-of-bounds access, bad helper argument, instruction budget exhausted).

    ``pc`` is the instruction slot where it happened, when known."""

    def __init__(self, message: str, pc: int | None = None):
        super().__init__(f"at instruction {pc}: {message}" if pc is not None else message)
        self.pc = pc
        self.reason = message


__all__ = [
    "AttachError",
    "BTFError",
    "CompileError",
    "ConfigError",
    "ELFError",
    "Error",
    "InstructionError",
    "KeyExistsError",
    "LoadError",
    "MapError",
    "MapFullError",
    "MapIndexError",
    "MapTypeError",
    "NotSupportedError",
    "PrivilegeError",
    "RuntimeFault",
    "SystemCallError",
    "VerifierError",
    "summarize_verifier_log",
]
