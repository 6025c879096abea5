"""The Linux backend: bpf(2) maps, programs, objects, pinning, introspection.

Modules: :mod:`.sys` (the system call and attr layouts), :mod:`.commands` (one
function per bpf command), :mod:`.probes` (feature
probes), :mod:`.maps`, :mod:`.programs` (with :mod:`.relocate` and
:mod:`.program_btf`), :mod:`.objects` (whole ELF objects, as
libbpf loads them), :mod:`.btf` (object BTF into the kernel, kernel type lookup),
:mod:`.backend` (the factories ebpf.backend names), :mod:`.structops`, :mod:`.pin` (bpffs),
:mod:`.lockdown`, :mod:`.info`
(introspection), :mod:`.xlated` (bpftool-style annotations of translated code); attach kinds (:mod:`.attach`, :mod:`.netlink` for tc/XDP over
rtnetlink), links, ring and perf buffers live next to them.
Nothing here touches the kernel at import time.
"""

from importlib import import_module as _import_module

_SUBMODULES = {"sys", "probes", "maps", "programs", "objects", "info", "btf", "backend", "pin",
               "structops",
               "attach", "links", "perf", "tracefs", "uprobe", "ringbuf", "perfbuf", "netlink",
               "lockdown", "xlated", "relocate", "program_btf", "commands"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = _import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ebpf.kernel' has no attribute {name!r}")
