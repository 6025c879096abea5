"""Loading a whole :class:`ebpf.ObjectSpec` into the runtime.

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o", backend="vm") as obj:  # doctest: +SKIP
...     obj.programs["xdp_pass"].test_run(b"\\0" * 64).retval
2
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..errors import LoadError
from ..loader.constants import initial_data
from ..loader.kconfig import kconfig_offsets as kconfig_offsets_of
from ..loader.selection import select_programs
from ..loader.slots import SLOT_TYPES, creation_order, fill_slots
from ..objects import Object
from ..spec import MapSpec, ObjectSpec
from .maps import VMMap, create_map
from .programs import VMProgram, load_program
from .run import DEFAULT_BUDGET

log = logging.getLogger("ebpf.vm")


class VMObject(Object):
    """An object loaded into the runtime (same API as the kernel backend's)."""

    backend = "vm"
    programs: Mapping[str, VMProgram]
    maps: Mapping[str, VMMap]


def load_object(spec: ObjectSpec, constants: dict[str, Any] | None = None,
                pin_path: str | None = None, *, jit: bool | None = None,
                executor: str | None = None,
                budget: int = DEFAULT_BUDGET, programs: list[str] | None = None,
                core_btf: Any = None, verify: bool = True, **options: Any) -> VMObject:
    """Create every map and load every program of ``spec`` in the runtime.

    ``constants`` set ``const volatile`` globals; program arrays and map-in-maps
    are filled from the spec's ``contents``. ``pin_path`` is accepted for API
    symmetry (the runtime has no bpffs). CO-RE relocations resolve against
    ``core_btf`` (default: the running kernel's BTF when it has one, as the
    kernel backend; see :func:`ebpf.loader.core.core_targets`).

    Every program is checked by :func:`ebpf.verify` first (the kernel's rules;
    a rejection raises :class:`ebpf.VerifierError` with the log, as on the
    kernel backend); ``verify=False`` skips that, with a warning.

    As the kernel backend (and libbpf): a program whose ``ProgramSpec.autoload``
    is False (``SEC("?...")``, or set by the caller) is not loaded and is absent
    from ``obj.programs``; ``programs`` (a list of names) says exactly which
    programs to load instead, autoload or not. Program-array slots naming a
    program that was not loaded stay empty.

    >>> spec = ebpf.ObjectSpec.from_file("prog.bpf.o")  # doctest: +SKIP
    >>> spec.programs["fentry_alt"].autoload = False  # doctest: +SKIP
    >>> obj = ebpf.load(spec, backend="vm")  # "fentry_alt" is not loaded  # doctest: +SKIP
    """
    unknown = set(options) - _KERNEL_ONLY_OPTIONS
    if unknown:
        raise LoadError(f"unknown load option(s) {', '.join(sorted(unknown))} for the vm "
                        "backend (known: executor, jit, budget, programs, core_btf, verify)")
    selection = select_programs(spec, programs)
    loaded: dict[str, VMProgram] = {}
    maps: dict[str, VMMap] = {}
    kconfig_offsets = kconfig_offsets_of(spec.variables)
    map_specs: dict[str, MapSpec] = {}
    try:
        datas = initial_data(spec, constants or {})
        for name in creation_order(spec.maps):
            ms = spec.maps[name]
            if name in datas:
                ms = ms.copy()
                ms.data = datas[name]
            map_specs[name] = ms
            maps[name] = create_map(_inner_ready(ms))
        skipped = selection.skipped
        for name in selection.order:
            ps = spec.programs[name]
            verify_at_load(ps, map_specs, verify, core_btf, kconfig_offsets)
            loaded[name] = load_program(ps, maps, jit=jit, executor=executor, budget=budget,
                                        kconfig_offsets=kconfig_offsets, core_btf=core_btf,
                                        verified=verify)
        fill_slots(spec.maps, maps, loaded, skipped, create_inner=create_map)
    except BaseException:
        for p in loaded.values():
            p.close()
        for m in maps.values():
            m.close()
        raise
    return VMObject(spec, loaded, maps)


def verify_at_load(ps: Any, map_specs: dict[str, MapSpec], verify: bool,
                   core_btf: Any = None, kconfig: dict[str, int] | None = None) -> None:
    """The load-time hook: our verifier's verdict on ``ps`` (raises VerifierError)."""
    if not verify:
        log.warning("program %s: loaded WITHOUT verification (verify=False); only the "
                    "runtime's checks stand between it and a fault", ps.name)
        return
    from ..verifier import verify_program

    res = verify_program(ps, map_specs, log_level=0, core_btf=core_btf, kconfig=kconfig)
    if not res.accepted:  # again with the instruction log, for the error
        verify_program(ps, map_specs, log_level=1, core_btf=core_btf,
                       kconfig=kconfig).raise_for_status()


#: options only the kernel backend uses, accepted so one call fits both backends
_KERNEL_ONLY_OPTIONS = frozenset({"log_level", "log_size", "attach_targets"})


def _inner_ready(ms: MapSpec) -> MapSpec:
    """``ms`` without the slots :func:`ebpf.loader.slots.fill_slots` fills later."""
    if ms.type in SLOT_TYPES and ms.contents:
        ms = ms.copy()
        ms.contents = []
    return ms
