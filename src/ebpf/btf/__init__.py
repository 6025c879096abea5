"""BTF: the BPF Type Format — parse (lazily: vmlinux is 5+ MB), model, marshal,
render as C (``vmlinux.h``) and resolve CO-RE relocations.

>>> from ebpf import btf
>>> spec = btf.load_kernel_btf()                       # doctest: +SKIP
>>> ts = spec.type_by_name("task_struct", kind="struct")  # doctest: +SKIP
>>> print(btf.render_c(ts, spec)[:19])                 # doctest: +SKIP
struct task_struct {
"""

from __future__ import annotations

import functools
import logging
import os
from importlib import import_module
from typing import Any

from ..errors import BTFError
from .parse import Spec
from .types import (
    Array,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncParam,
    FuncProto,
    Fwd,
    Int,
    Linkage,
    Member,
    Pointer,
    Qualifier,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
    alignof,
    resolve,
    sizeof,
    skip_qualifiers,
    type_name,
)

log = logging.getLogger(__name__)

KERNEL_BTF_DIR = "/sys/kernel/btf"

_LAZY = {
    "render_c": ".render",
    "vmlinux_h": ".render",
    "vmlinux_h_path": ".render",
    "parse_btf_ext": ".ext",
    "BTFExt": ".ext",
    "CORERelocation": ".ext",
    "CoreKind": ".ext",
    "LineInfo": ".ext",
    "FuncInfo": ".ext",
    "apply_core_relocations": ".core",
    "CoreResult": ".core",
    "resolve_relocation": ".core",
    "sanitize": ".compat",
    "ext": ".ext",
    "core": ".core",
    "render": ".render",
    "dump": ".dump",
    "marshal": ".marshal",
}
_MODULES = {"ext", "core", "render", "dump", "marshal"}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'ebpf.btf' has no attribute {name!r}")
    module = import_module(mod, __name__)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise BTFError(f"{path} does not exist: this kernel exposes no BTF "
                       f"(CONFIG_DEBUG_INFO_BTF off?)") from None
    except OSError as e:
        raise BTFError(f"cannot read {path}: {e.strerror}") from None


@functools.cache
def load_kernel_btf() -> Spec:
    """The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed lazily and cached.

    >>> from ebpf import btf
    >>> btf.load_kernel_btf().type_by_name("struct task_struct").size > 0  # doctest: +SKIP
    True
    """
    from .cache import parse_cached

    path = os.path.join(KERNEL_BTF_DIR, "vmlinux")
    spec = parse_cached(path, _read(path), check=False)  # the kernel checked its BTF
    spec.path = path
    log.debug("kernel BTF: %d types", len(spec))
    return spec


@functools.cache
def load_module_btf(module: str) -> Spec:
    """BTF of a kernel module (split BTF on top of vmlinux)."""
    if not module or "/" in module or module.startswith("."):
        raise BTFError(f"bad kernel module name {module!r}")
    if module == "vmlinux":
        return load_kernel_btf()
    path = os.path.join(KERNEL_BTF_DIR, module)
    spec = Spec.from_bytes(_read(path), base=load_kernel_btf(), check=False)
    spec.path = path
    return spec


def kernel_module_names() -> list[str]:
    """Names of the loaded kernel modules that have BTF."""
    try:
        return sorted(n for n in os.listdir(KERNEL_BTF_DIR) if n != "vmlinux")
    except OSError:
        return []


def load_kernel_specs(modules: bool = True) -> list[Spec]:
    """vmlinux BTF, then (with ``modules``) every module's split BTF: the targets
    CO-RE relocations are resolved against."""
    out = [load_kernel_btf()]
    if modules:
        for name in kernel_module_names():
            try:
                out.append(load_module_btf(name))
            except BTFError as e:  # a module may unload meanwhile
                log.debug("skipping module BTF %s: %s", name, e)
    return out


def load_spec(source: str) -> Spec:
    """A Spec from "vmlinux", a module name, a raw BTF file or an ELF object."""
    if source in ("vmlinux", os.path.join(KERNEL_BTF_DIR, "vmlinux")):
        return load_kernel_btf()
    if os.path.dirname(source) == KERNEL_BTF_DIR:
        return load_module_btf(os.path.basename(source))
    if not os.path.exists(source) and os.path.exists(os.path.join(KERNEL_BTF_DIR, source)):
        return load_module_btf(source)
    return Spec.from_file(source)


__all__ = [
    "Array", "BTFError", "Composite", "Const", "Datasec", "DeclTag", "Enum", "EnumValue",
    "Float", "Func", "FuncParam", "FuncProto", "Fwd", "Int", "Linkage", "Member", "Pointer",
    "Qualifier", "Restrict", "Spec", "Struct", "Type", "TypeTag", "Typedef", "Union", "Var",
    "VarSecinfo", "Void", "Volatile", "alignof", "kernel_module_names", "load_kernel_btf",
    "load_kernel_specs", "load_module_btf", "load_spec", "resolve", "sizeof",
    "skip_qualifiers", "type_name", *sorted(_LAZY),
]
