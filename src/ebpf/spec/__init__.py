"""Specs: everything a backend needs to create maps and load programs.

An :class:`ObjectSpec` is what an ELF object *says* (programs, maps, global
variables, BTF); nothing here touches the kernel. ``ebpf.load(spec, backend=...)``
turns it into a live :class:`ebpf.Object`.

>>> import ebpf
>>> ms = ebpf.MapSpec(name="counts", type=ebpf.MapType.HASH, key_size=4, value_size=8,
...                   max_entries=16)
>>> ms.type.name
'HASH'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..btf.records import FuncInfo, LineInfo
from ..isa.instruction import Instruction
from ..uapi import AttachType, MapType, ProgramType
from ..uapi.consts import BPF_F_ANY_ALIGNMENT as BPF_F_ANY_ALIGNMENT
from ..uapi.consts import BPF_F_INNER_MAP as BPF_F_INNER_MAP
from ..uapi.consts import BPF_F_MMAPABLE as BPF_F_MMAPABLE
from ..uapi.consts import BPF_F_NO_COMMON_LRU as BPF_F_NO_COMMON_LRU
from ..uapi.consts import BPF_F_NO_PREALLOC as BPF_F_NO_PREALLOC
from ..uapi.consts import BPF_F_NUMA_NODE as BPF_F_NUMA_NODE
from ..uapi.consts import BPF_F_RDONLY as BPF_F_RDONLY
from ..uapi.consts import BPF_F_RDONLY_PROG as BPF_F_RDONLY_PROG
from ..uapi.consts import BPF_F_STRICT_ALIGNMENT as BPF_F_STRICT_ALIGNMENT
from ..uapi.consts import BPF_F_WRONLY as BPF_F_WRONLY
from ..uapi.consts import BPF_F_WRONLY_PROG as BPF_F_WRONLY_PROG
from ..uapi.consts import BPF_F_ZERO_SEED as BPF_F_ZERO_SEED
from .sections import BPF_F_SLEEPABLE as BPF_F_SLEEPABLE
from .sections import BPF_F_XDP_HAS_FRAGS as BPF_F_XDP_HAS_FRAGS
from .sections import SectionInfo, classify


class PinType(enum.IntEnum):
    """``pinning`` attribute of a BTF-defined map (LIBBPF_PIN_*)."""

    NONE = 0
    BY_NAME = 1


@dataclass
class MapSpec:
    """How to create a map.

    ``key_type``/``value_type`` are BTF types (``ebpf.btf`` model) when the object
    has BTF; maps use them to decode keys and values. ``contents`` are initial
    entries ``(key, value)``: for program arrays the value is a program *name*,
    for map-in-maps a map *name* (or MapSpec), else bytes/int. ``data`` is the
    initial value of a global-data map (.data/.rodata/.bss/.kconfig).
    """

    name: str
    type: MapType
    key_size: int = 0
    value_size: int = 0
    max_entries: int = 0
    flags: int = 0
    numa_node: int = 0
    map_extra: int = 0
    #: a :class:`PinType`, or the raw number an object wrote that libbpf does not know
    pinning: PinType | int = PinType.NONE
    inner: MapSpec | None = None
    contents: list[tuple[Any, Any]] = field(default_factory=list)
    key_type: Any = None
    value_type: Any = None
    #: BTF type id of key/value inside ``btf`` (0 = none)
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    btf: Any = None  # ebpf.btf.Spec the ids refer to
    #: ELF section this map came from (".maps", "maps", ".data", ".rodata", ...)
    section: str = ""
    #: initial bytes of a global-data map (length value_size)
    data: bytes | None = None
    #: freeze after initialisation (.rodata, .kconfig)
    freeze: bool = False

    def copy(self) -> MapSpec:
        import copy

        return copy.copy(self)


@dataclass
class VariableSpec:
    """A global variable in a global-data map."""

    name: str
    map: str  # name of the MapSpec holding it (e.g. ".data", ".rodata")
    offset: int
    size: int
    type: Any = None  # BTF type of the variable
    readonly: bool = False  # .rodata / .kconfig
    #: ``const volatile`` in .rodata: settable through ebpf.load(constants=...)
    constant: bool = False


#: attach kinds whose programs run only on events of the running kernel
#: (syscalls, scheduler, functions, probes), which the vm backend never sees
KERNEL_EVENT_KINDS = frozenset({
    "tracepoint", "raw_tracepoint", "tracing", "lsm", "kprobe", "kprobe_multi",
    "kprobe_session", "ksyscall", "uprobe", "uprobe_multi", "usdt", "iter",
})


@dataclass
class ProgramSpec:
    """How to load a program.

    ``instructions`` are complete (every called subprogram appended) and carry
    symbolic references a backend resolves (``ebpf.isa.MapReference`` ...).
    ``attach_to`` is the target the section names (tracepoint "category/name",
    a kernel function, a uprobe's "binary:symbol", ...) or "" when none.
    """

    name: str
    type: ProgramType
    instructions: list[Instruction] = field(default_factory=list)
    license: str = "GPL"
    section: str = ""
    attach_type: AttachType | None = None
    attach_to: str = ""
    kernel_version: int = 0
    flags: int = 0
    func_infos: list[FuncInfo] = field(default_factory=list)
    line_infos: list[LineInfo] = field(default_factory=list)
    btf: Any = None  # ebpf.btf.Spec of the object
    #: "kprobe", "uprobe", "tracepoint", "xdp", ... : how attach() should proceed
    attach_kind: str = ""
    #: True for kretprobe/uretprobe
    retprobe: bool = False
    #: False for SEC("?...") programs: libbpf loads them only when asked to
    autoload: bool = True
    #: what the section name says, parsed once (see :mod:`ebpf.spec.sections`);
    #: filled from ``section`` when not given
    section_info: SectionInfo | None = None

    def __post_init__(self) -> None:
        if self.section_info is None and self.section:
            self.section_info = classify(self.section)

    @property
    def needs_target(self) -> bool:
        """True when attaching needs a target from the user (an interface, a
        socket, a cgroup...) whatever the section says."""
        from .sections import needs_target

        return needs_target(self)

    @property
    def needs_kernel_events(self) -> bool:
        """True for programs only kernel events run (tracepoints, probes, fentry,
        LSM, iterators): on the vm backend they run only when Python fires their hook."""
        return self.attach_kind in KERNEL_EVENT_KINDS

    def copy(self) -> ProgramSpec:
        import copy

        c = copy.copy(self)
        c.instructions = [i.copy() for i in self.instructions]
        return c


@dataclass
class ObjectSpec:
    """Everything an ELF object holds: programs, maps, global variables, BTF.

    >>> import ebpf  # doctest: +SKIP
    >>> spec = ebpf.ObjectSpec.from_file("prog.bpf.o")  # doctest: +SKIP
    >>> sorted(spec.programs)  # doctest: +SKIP
    ['xdp_count']
    """

    programs: dict[str, ProgramSpec] = field(default_factory=dict)
    maps: dict[str, MapSpec] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    btf: Any = None  # ebpf.btf.Spec
    license: str = ""
    kernel_version: int = 0
    path: str = ""
    #: names of .kconfig externs and .ksyms the object needs
    kconfig: list[str] = field(default_factory=list)
    ksyms: list[str] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: str | Path) -> ObjectSpec:
        """Read an eBPF ELF object file."""
        from ..elf import read_file

        return read_file(path)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> ObjectSpec:
        """Read an eBPF ELF object from memory."""
        from ..elf import read_bytes

        return read_bytes(data, name=name)
