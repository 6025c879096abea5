"""The compiler driver: C source → BPF ELF object with BTF.

>>> from ebpf.toolchain import compile
>>> obj = compile("minimal.bpf.c")          # doctest: +SKIP
>>> obj.name                                 # doctest: +SKIP
'minimal.bpf.o'
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CompileError
from . import objcache
from .find import Compiler, find_compiler

if TYPE_CHECKING:  # run-time imports are where a compiler runs: a cache hit needs neither
    import subprocess

log = logging.getLogger(__name__)

#: our libbpf-compatible headers (``<bpf/bpf_helpers.h>`` ...), first on the include path
INCLUDE_DIR = Path(__file__).resolve().parent / "include"
#: stand-ins for libc files some UAPI headers reach but no BPF build needs; searched last
COMPAT_INCLUDE_DIR = INCLUDE_DIR / "compat"

#: ``uname -m`` → the ``__TARGET_ARCH_*`` name used by bpf_tracing.h
_TARGET_ARCH = {
    "x86_64": "x86", "amd64": "x86", "i386": "x86", "i686": "x86",
    "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "arm": "arm",
    "s390x": "s390",
    "ppc64le": "powerpc", "ppc64": "powerpc",
    "riscv64": "riscv",
    "mips": "mips", "mips64": "mips",
    "loongarch64": "loongarch",
    "sparc64": "sparc",
}

#: ``uname -m`` → Debian multiarch triples holding ``asm/`` headers
_MULTIARCH = {
    "x86_64": ("x86_64-linux-gnu",),
    "aarch64": ("aarch64-linux-gnu",),
    "armv7l": ("arm-linux-gnueabihf", "arm-linux-gnueabi"),
    "s390x": ("s390x-linux-gnu",),
    "ppc64le": ("powerpc64le-linux-gnu",),
    "riscv64": ("riscv64-linux-gnu",),
    "loongarch64": ("loongarch64-linux-gnu",),
    "i686": ("i386-linux-gnu",),
}

_INCLUDE_RE = re.compile(rb'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def target_arch(machine: str | None = None) -> str:
    """The ``__TARGET_ARCH_<x>`` suffix for a machine (default: this one).

    >>> target_arch("x86_64"), target_arch("aarch64")
    ('x86', 'arm64')
    """
    machine = machine or os.uname().machine
    return _TARGET_ARCH.get(machine, machine)


def system_include_dirs(machine: str | None = None) -> list[Path]:
    """System UAPI include directories: the multiarch dir (``asm/``) then ``/usr/include``.

    Only directories that exist are returned.
    """
    machine = machine or os.uname().machine
    dirs: list[Path] = []
    for triple in _MULTIARCH.get(machine, ()):
        p = Path("/usr/include") / triple
        if (p / "asm").is_dir():
            dirs.append(p)
            break
    else:
        for p in sorted(Path("/usr/include").glob(f"{machine}*-linux-*")):
            if (p / "asm").is_dir():
                dirs.append(p)
                break
    for p in (Path("/usr/local/include"), Path("/usr/include")):
        if p.is_dir():
            dirs.append(p)
    return dirs


def default_output(src: Path) -> Path:
    """``x.bpf.c`` → ``x.bpf.o``; ``x.c`` → ``x.o``.

    >>> default_output(Path("a/minimal.bpf.c")).as_posix()
    'a/minimal.bpf.o'
    """
    if src.suffix == ".c":
        return src.with_suffix(".o")
    return src.with_name(src.name + ".o")


def _includes(text: bytes) -> set[str]:
    return {m.decode(errors="replace") for m in _INCLUDE_RE.findall(text)}


def _needs_vmlinux_h(src: Path, search: Iterable[Path]) -> bool:
    """True if ``src`` includes ``vmlinux.h`` and no given directory has one."""
    try:
        text = src.read_bytes()
    except OSError:
        return False
    if "vmlinux.h" not in _includes(text):
        return False
    return not any((Path(d) / "vmlinux.h").is_file() for d in search)


def compiler_args(compiler: Compiler, *, include_dirs: Iterable[str | os.PathLike] = (),
                  defines: Mapping[str, object] | None = None, opt: int = 2,
                  cpu: str | None = None, debug: bool = True) -> list[str]:
    """The flags (without input/output) ``compile`` passes to ``compiler``.

    ``cpu=None`` passes no ``-mcpu``: the compiler's own default ISA version."""
    endian = "bpfel" if sys.byteorder == "little" else "bpfeb"
    mcpu = [] if cpu is None else [f"-mcpu={cpu}"]
    args: list[str] = []
    if compiler.kind == "clang":
        # no crash reproducers left in /tmp (a v1 build of 32-bit cmpxchg crashes clang 19)
        args += ["-target", endian, *mcpu, "-fno-crash-diagnostics"]
    elif compiler.kind == "zig":
        # zig's own clang. The OS part must not be "freestanding": that implies
        # -ffreestanding, under which memcpy/memset stay library calls (which BPF
        # cannot make) instead of being inlined; zig also adds -fno-builtin, undone
        # by -fbuiltin. No unwind tables: they would add an .eh_frame section.
        args += ["-target", f"{endian}-linux", *mcpu, "-fbuiltin", "-fno-crash-diagnostics",
                 "-fno-unwind-tables", "-fno-asynchronous-unwind-tables"]
    elif compiler.kind == "gcc":
        # GCC turns a provable NULL dereference into `call abort`, a library call
        # BPF cannot make; keep the (verifier-checked) access instead
        args += [*mcpu, "-mco-re", "-fno-isolate-erroneous-paths-dereference"]
    args.append(f"-O{opt}")
    if debug:
        args += ["-g", "-gbtf"] if compiler.kind == "gcc" else ["-g"]
    if not any(str(name).startswith("__TARGET_ARCH_") for name in (defines or {})):
        args.append(f"-D__TARGET_ARCH_{target_arch()}")  # unless cross-compiling
    args += ["-D__BPF_TRACING__", "-fno-stack-protector"]
    if compiler.kind != "gcc":
        args.append("-Wno-unused-command-line-argument")
    for name, value in (defines or {}).items():
        args.append(f"-D{name}" if value is None or value is True else f"-D{name}={value}")
    # user dirs first (a project's own vmlinux.h wins), then our bpf/*.h, then
    # the system UAPI headers (after ours, so <bpf/...> always resolves to ours).
    args += [f"-I{Path(d)}" for d in include_dirs]
    args.append(f"-I{INCLUDE_DIR}")
    for d in system_include_dirs():
        args += ["-idirafter", str(d)]
    args += ["-idirafter", str(COMPAT_INCLUDE_DIR)]
    return args


def compile(src: str | os.PathLike, out: str | os.PathLike | None = None, cc: str | None = None,
            include_dirs: Iterable[str | os.PathLike] = (),
            defines: Mapping[str, object] | None = None, opt: int = 2,
            extra_args: Iterable[str] = (), *, cpu: str | None = None,
            btf: str | os.PathLike | None = None,
            timeout: float = 600.0, cache: bool = False) -> Path:
    """Compile a libbpf-style C file to a BPF ELF object (with .BTF/.BTF.ext); return its path.

    ``cc``: ``None`` (best available: clang, gcc-bpf, zig), ``"clang"``, ``"gcc"``,
    ``"zig"`` or a compiler path. ``include_dirs`` come before our headers;
    ``defines`` maps NAME → value (``None`` for a bare ``-DNAME``). When the
    source includes ``vmlinux.h`` and no include dir has one, it is generated from
    the running kernel's BTF (or ``btf``) and cached per kernel build.
    Raises :class:`~ebpf.errors.CompileError` with the compiler's diagnostics.

    ``cpu``: the BPF ISA version (``"v1"``..``"v4"``, passed as ``-mcpu``). ``None``,
    the default, builds as the compiler does without ``-mcpu`` (clang before 20: v1;
    clang 20+, zig and bpf-gcc: v3 or later), so an object loads as the project's own
    build of the same source does; when that build fails only because the source
    uses what the default CPU lacks (atomic operations returning a 32-bit value), it
    is built again with ``v3``.

    ``cache=True`` reuses an object compiled before by the same command from files
    that have not changed since (:mod:`ebpf.toolchain.objcache`; ``ebpf run`` and
    ``ebpf tool`` use it): a repeated start costs no compiler run.

    >>> compile("xdp_pass.bpf.c", cc="zig")   # doctest: +SKIP
    PosixPath('xdp_pass.bpf.o')
    """
    if isinstance(include_dirs, (str, os.PathLike)):
        include_dirs = [include_dirs]  # one directory, not its characters
    if isinstance(extra_args, str):
        import shlex

        extra_args = shlex.split(extra_args)
    extra_args = [str(a) for a in extra_args]  # used again if vmlinux.h must be added
    src = Path(src)
    if not src.is_file():
        raise CompileError(f"source file {src} does not exist")
    if not isinstance(opt, int) or not 0 <= opt <= 3:
        raise CompileError(f"optimisation level must be 0..3, not {opt!r}")
    if cpu is not None and cpu not in CPUS:
        raise CompileError(f"cpu must be one of {', '.join(CPUS)} or None (the compiler's "
                           f"default), not {cpu!r}")
    out_path = Path(out) if out is not None else default_output(src)
    if out_path.resolve() == src.resolve():
        raise CompileError(f"output {out_path} would overwrite the source")
    compiler = find_compiler(cc)
    dirs = [Path(d) for d in include_dirs]
    user_dirs = list(dirs)
    generated: Path | None = None  # the generated vmlinux.h's directory, in dirs
    if _needs_vmlinux_h(src, [src.parent, *dirs]):
        from .vmlinux import vmlinux_h_dir

        generated = vmlinux_h_dir(btf)
        dirs.append(generated)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if compiler.kind == "zig" and "ZIG_GLOBAL_CACHE_DIR" not in env:
        env["ZIG_GLOBAL_CACHE_DIR"] = str(_cache_home() / "zig")
    first_entry: str | None = None  # the cache key of the default-CPU build, when retried
    while True:
        args = compiler_args(compiler, include_dirs=dirs, defines=defines, opt=opt, cpu=cpu)
        cmd = [*compiler.command, *args, *extra_args, "-c", str(src), "-o", str(out_path)]
        entry: str | None = None
        depfile: Path | None = None
        if cache and objcache.enabled():
            entry = objcache.key([*cmd[:-2], str(src.resolve())])
            hit = objcache.lookup(entry)
            if hit is not None:
                log.info("compiling %s: unchanged since it was cached", src)
                out_path.write_bytes(hit)
                return out_path
            depfile = out_path.with_name(out_path.name + ".d")
            cmd += ["-MD", "-MF", str(depfile)]
        log.info("compiling %s with %s", src, compiler)
        r = _run_trimmed(cmd, src, compiler, timeout, env, generated, user_dirs)
        if r is None:
            log.debug("command: %s", " ".join(cmd))
            r = _run(cmd, src, compiler, timeout, env)
        # vmlinux.h included from a project header rather than the source itself
        if r.returncode != 0 and generated is None and re.search(_VMLINUX_MISSING, r.stderr or ""):
            from .vmlinux import vmlinux_h_dir

            generated = vmlinux_h_dir(btf)
            dirs.append(generated)
            continue
        if r.returncode != 0 and cpu is None and re.search(_NEEDS_V3, r.stderr or ""):
            log.info("%s: the compiler's default CPU lacks what the source uses "
                     "(32-bit atomics); building with -mcpu=v3", src)
            if depfile is not None:
                depfile.unlink(missing_ok=True)
            first_entry, cpu = entry, "v3"
            continue
        break
    if depfile is not None and (r.returncode != 0 or entry is None):
        depfile.unlink(missing_ok=True)
    if r.returncode != 0:
        out_path.unlink(missing_ok=True)
        diagnostics = r.stderr or r.stdout
        m = re.search(_UAPI_MISSING, diagnostics)
        hint = ""
        if m:
            hint = (f"; <{m.group(1)}> is a Linux UAPI header: install the kernel headers "
                    "(Debian/Ubuntu: linux-libc-dev, Fedora: kernel-headers) or include "
                    "\"vmlinux.h\" instead")
        raise CompileError(f"compiling {src} failed ({compiler.kind}, exit {r.returncode}){hint}: "
                           f"{' '.join(cmd)}", diagnostics=diagnostics, command=cmd)
    if r.stderr.strip():
        log.warning("%s: compiler diagnostics:\n%s", src, r.stderr.rstrip())
    if not out_path.is_file():
        raise CompileError(f"compiler reported success but wrote no {out_path}", command=cmd)
    if entry is not None and depfile is not None:
        objcache.store(entry, out_path, depfile)
        if first_entry is not None:  # the next default-CPU build needs no failing first try
            objcache.store(first_entry, out_path, depfile)
        depfile.unlink(missing_ok=True)
    return out_path


# errors a type missing from a trimmed vmlinux.h can cause (others do not retry)
_TYPE_TROUBLE = (r"incomplete|undeclared|unknown type name|no member named|"
                 r"implicit declaration|vmlinux\.h")
#: the ISA versions ``cpu=`` takes (``-mcpu``)
CPUS = ("v1", "v2", "v3", "v4")
#: clang's refusals of what needs -mcpu=v3 (32-bit atomic fetch/xchg/cmpxchg); a v1
#: build of a 32-bit cmpxchg can also end in a back-end "Cannot select" on AtomicCmpSwap
_NEEDS_V3 = (r"Invalid usage of the XADD return value|unsupported atomic operation"
             r"|Cannot select: .*Atomic")
_UAPI_MISSING = r"['\"<]((?:linux|asm|asm-generic)/[\w./-]+\.h)['\">] file not found"
_VMLINUX_MISSING = r"['\"]vmlinux\.h['\"] file not found|vmlinux\.h: No such file"


def _run_trimmed(cmd: list[str], src: Path, compiler: Compiler, timeout: float,
                 env: dict[str, str], generated: Path | None, user_dirs: list[Path]
                 ) -> subprocess.CompletedProcess | None:
    """Run ``cmd`` against a ``vmlinux.h`` trimmed to what ``src`` uses
    (:mod:`ebpf.toolchain.trim`) in place of the full generated one in
    ``generated``; ``None`` when there is none to trim or the trimmed header
    fails (the caller then compiles against the full header)."""
    from . import trim

    if generated is None or not trim.enabled():
        return None
    small = trim.trimmed_dir(generated, src, user_dirs, INCLUDE_DIR)
    if small is None:
        return None
    full_arg = f"-I{generated}"
    cmd = [f"-I{small}" if a == full_arg else a for a in cmd]
    log.debug("command: %s", " ".join(cmd))
    r = _run(cmd, src, compiler, timeout, env)
    if r.returncode != 0 and re.search(_TYPE_TROUBLE, r.stderr or ""):
        log.info("%s: the trimmed vmlinux.h in %s did not compile; using the full header",
                 src, small)
        return None
    return r


def _run(cmd: list[str], src: Path, compiler: Compiler, timeout: float,
         env: dict[str, str]) -> subprocess.CompletedProcess:
    import subprocess

    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise CompileError(f"compiling {src} timed out after {timeout:.0f}s",
                           command=cmd) from e
    except OSError as e:
        raise CompileError(f"could not run {compiler}: {e}", command=cmd) from e


def _cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ebpf"


__all__ = ["INCLUDE_DIR", "compile", "compiler_args", "default_output", "system_include_dirs",
           "target_arch"]
