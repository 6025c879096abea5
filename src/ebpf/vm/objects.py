"""Loading a whole :class:`ebpf.ObjectSpec` into the runtime.

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o", backend="vm") as obj:  # doctest: +SKIP
...     obj.programs["xdp_pass"].test_run(b"\\0" * 64).retval
2
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ..errors import LoadError
from ..loader.constants import apply_constants
from ..loader.selection import select_programs
from ..objects import Object
from ..spec import MapSpec, ObjectSpec
from ..uapi import MapType
from .maps import VMMap, create_map
from .programs import VMProgram, load_program
from .run import DEFAULT_BUDGET

log = logging.getLogger("ebpf.vm")


class VMObject(Object):
    """An object loaded into the runtime (same API as the kernel backend's)."""

    backend = "vm"
    programs: Mapping[str, VMProgram]
    maps: Mapping[str, VMMap]


def _apply_constants(spec: ObjectSpec, constants: dict[str, Any]) -> dict[str, bytes]:
    """Initial data of global-data maps with ``constants`` written in."""
    datas = apply_constants(spec, constants)
    kc = spec.maps.get(".kconfig")
    if kc is not None:
        datas[".kconfig"] = kconfig_data(spec, kc.value_size)
    return datas


def kconfig_data(spec: ObjectSpec, size: int) -> bytes:
    """``.kconfig`` externs get the host kernel's configuration (the runtime
    stands in for the machine it runs on); unknown ones read as 0."""
    from ..loader.kconfig import fill_kconfig_data

    data, _ = fill_kconfig_data(spec.variables, size)
    return data


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
    kernel backend; see :func:`ebpf.vm.programs.core_targets`).

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
    kconfig_offsets = {v.name: v.offset for v in spec.variables.values() if v.map == ".kconfig"}
    map_specs: dict[str, MapSpec] = {}
    try:
        datas = _apply_constants(spec, constants or {})
        for name, ms in spec.maps.items():
            if name in datas:
                ms = ms.copy()
                ms.data = datas[name]
            map_specs[name] = ms
            maps[name] = create_map(_inner_ready(ms))
        skipped = selection.skipped
        for name in selection.order:
            ps = spec.programs[name]
            verify_at_load(ps, map_specs, verify, core_btf)
            loaded[name] = load_program(ps, maps, jit=jit, executor=executor, budget=budget,
                                        kconfig_offsets=kconfig_offsets, core_btf=core_btf)
        for name, ms in spec.maps.items():
            _fill_references(ms, maps[name], maps, loaded, skipped)
    except BaseException:
        for p in loaded.values():
            p.close()
        for m in maps.values():
            m.close()
        raise
    return VMObject(spec, loaded, maps)


def verify_at_load(ps: Any, map_specs: dict[str, MapSpec], verify: bool,
                   core_btf: Any = None) -> None:
    """The load-time hook: our verifier's verdict on ``ps`` (raises VerifierError)."""
    if not verify:
        log.warning("program %s: loaded WITHOUT verification (verify=False); only the "
                    "runtime's checks stand between it and a fault", ps.name)
        return
    from ..verifier import verify_program

    res = verify_program(ps, map_specs, log_level=0, core_btf=core_btf)
    if not res.accepted:  # again with the instruction log, for the error
        verify_program(ps, map_specs, log_level=1, core_btf=core_btf).raise_for_status()


#: options only the kernel backend uses, accepted so one call fits both backends
_KERNEL_ONLY_OPTIONS = frozenset({"log_level", "log_size", "attach_targets"})


def _inner_ready(ms: MapSpec) -> MapSpec:
    if ms.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS) and ms.contents:
        ms = ms.copy()
        ms.contents = []
    elif ms.type == MapType.PROG_ARRAY and ms.contents:
        ms = ms.copy()
        ms.contents = []
    return ms


def _fill_references(ms: MapSpec, m: VMMap, maps: dict[str, VMMap],
                     programs: dict[str, VMProgram], skipped: AbstractSet[str] = frozenset()) -> None:
    for key, value in ms.contents:
        if ms.type == MapType.PROG_ARRAY:
            name = value if isinstance(value, str) else getattr(value, "name", None)
            if name in skipped and name not in programs:
                log.debug("program array %s: slot %s left empty (%s not loaded)",
                          ms.name, key, name)
                continue
            target = programs.get(value) if isinstance(value, str) else value
            if target is None:
                raise LoadError(f"map {ms.name}: program {value!r} for slot {key} not found")
            m[key] = target
        elif ms.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            name = value.name if isinstance(value, MapSpec) else value
            inner = maps.get(name) if isinstance(name, str) else None
            if inner is None:
                if isinstance(value, MapSpec):
                    inner = create_map(value)
                    maps[value.name] = inner
                else:
                    raise LoadError(f"map {ms.name}: inner map {value!r} for key {key} not found")
            m[key] = inner
