"""Load a whole :class:`~ebpf.spec.ObjectSpec` into the kernel, the way libbpf does:
object BTF, maps (pinned ones reused), global data and ``const volatile``
constants, ``.kconfig`` values, programs, then program arrays and map-in-maps.

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o", backend="kernel", constants={"port": 80}) as obj:
...     obj.programs["xdp_count"].test_run(b"\\0" * 64).retval  # doctest: +SKIP
2
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from ..errors import Error, LoadError, MapError
from ..loader.constants import initial_data
from ..loader.kconfig import kconfig_offsets
from ..loader.selection import select_programs
from ..loader.slots import SLOT_TYPES, creation_order, fill_slots
from ..objects import Object
from ..spec import BPF_F_RDONLY_PROG, MapSpec, ObjectSpec, PinType
from ..uapi import MapType, ProgramType
from . import probes
from .maps import KernelMap, create_map, open_pinned_map, sanitize_name
from .pin import DEFAULT_PIN_PATH, ensure_bpffs_dir
from .programs import KernelProgram, load_program

log = logging.getLogger("ebpf.kernel")

__all__ = ["KernelObject", "load_object", "internal_map_name"]


class KernelObject(Object):
    """A loaded object on the kernel backend; ``close()`` releases every program,
    map, link and the object's BTF."""

    backend = "kernel"
    programs: Mapping[str, KernelProgram]
    maps: Mapping[str, KernelMap]

    def __init__(self, spec: ObjectSpec, programs: dict[str, KernelProgram],
                 maps: dict[str, KernelMap], btf: Any = None):
        super().__init__(spec, programs, maps)
        self.btf = btf

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        if self.btf is not None:
            self.btf.close()
            self.btf = None

    def attach(self) -> list:
        """Attach every program whose section says where (see :meth:`ebpf.Object.attach`)
        and register every struct_ops map; returns the new links."""
        new = super().attach()
        try:
            for m in self.maps.values():
                if m._struct_ops_value is not None:
                    link = m.attach_struct_ops()
                    self.links.append(link)
                    new.append(link)
        except Error:
            for made in new:
                made.close()
                if made in self.links:
                    self.links.remove(made)
            raise
        return new

    def pin_maps(self, directory: str) -> None:
        """Pin every map under ``directory`` by name."""
        ensure_bpffs_dir(directory)
        for name, m in self.maps.items():
            m.pin(os.path.join(directory, name.lstrip(".") or name))

    def pin_programs(self, directory: str) -> None:
        """Pin every program under ``directory`` by name."""
        ensure_bpffs_dir(directory)
        for name, p in self.programs.items():
            p.pin(os.path.join(directory, name))


def _object_name(spec: ObjectSpec) -> str:
    base = os.path.basename(spec.path or "") or "obj"
    return base.split(".", 1)[0] or "obj"  # like libbpf: up to the first dot


def internal_map_name(obj_name: str, section: str) -> str:
    """Kernel name of a global-data map, as libbpf makes it: up to 8 characters of
    the object name, then the section name (".rodata"), at most 15 in all."""
    sfx = section if section.startswith(".") else "." + section
    obj_name = obj_name.split(".", 1)[0]
    pfx_len = min(15 - len(sfx), len(obj_name), 8)
    return sanitize_name(obj_name[:max(pfx_len, 0)] + sfx)


def _is_internal(ms: MapSpec) -> bool:
    n = ms.name
    return n.startswith(".") and (n.startswith((".data", ".rodata", ".bss", ".kconfig")))




def _check_compatible(m: KernelMap, ms: MapSpec, path: str) -> None:
    info = m.info()
    want = ms
    have_flags = info.flags
    if want.type in (MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP):
        have_flags &= ~BPF_F_RDONLY_PROG  # the kernel adds it to these types itself
    fields = [("type", int(info.type), int(want.type)), ("key_size", info.key_size, want.key_size),
              ("value_size", info.value_size, want.value_size),
              ("max_entries", info.max_entries, want.max_entries),
              ("flags", have_flags, want.flags), ("map_extra", info.map_extra, want.map_extra)]
    for fname, have, need in fields:
        if have != need:
            raise MapError(f"pinned map {path} does not match map {ms.name!r}: {fname} is "
                           f"{have}, the object wants {need}")


#: where maps of iproute2-style objects (legacy "maps" section) with pinning
#: PIN_OBJECT_NS / PIN_GLOBAL_NS are pinned when no ``pin_path`` is given
LEGACY_PIN_PATH = DEFAULT_PIN_PATH + "/tc/globals"


def load_object(spec: ObjectSpec, constants: dict[str, Any] | None = None,
                pin_path: str | None = None, *, log_level: int = 0, log_size: int = 0,
                programs: list[str] | None = None, attach_targets: dict[str, Any] | None = None,
                **_options: Any) -> KernelObject:
    """Load ``spec`` into the kernel. Everything made so far is released when a
    step fails. ``programs`` restricts which programs are loaded.

    Like libbpf, a program whose ``ProgramSpec.autoload`` is False (``SEC("?...")``,
    or set by the caller before loading) is not loaded and is absent from
    ``obj.programs``; naming it in ``programs`` loads it anyway (an explicit list
    says exactly what to load). Program-array slots naming an unloaded program
    stay empty.

    Maps with ``pinning`` are pinned under ``pin_path`` (default ``/sys/fs/bpf``,
    and ``/sys/fs/bpf/tc/globals`` for iproute2-style legacy map sections).

    ``freplace`` programs replace a function of another program: name it in
    ``attach_targets`` ({program name: loaded Program or fd}); without that, a
    program of this object that contains the function is used.
    """
    unknown = set(_options) - _VM_ONLY_OPTIONS
    if unknown:
        raise LoadError(f"unknown load option(s) {', '.join(sorted(unknown))} for the kernel "
                        "backend (known: log_level, log_size, programs, attach_targets)")
    probes.bump_memlock()
    constants = constants or {}
    selection = select_programs(spec, programs)
    blobs = initial_data(spec, constants)
    maps: dict[str, KernelMap] = {}
    progs: dict[str, KernelProgram] = {}
    kbtf = None
    to_pin: list[tuple[KernelMap, str]] = []
    try:
        if spec.btf is not None:
            try:
                from .btf import load_btf

                layout = {v.name: (v.offset, v.size) for v in spec.variables.values()
                          if v.map == ".kconfig"}
                kbtf = load_btf(spec.btf, kconfig_layout=layout)
            except Error as e:
                log.warning("%s: object BTF not loaded into the kernel (%s); continuing "
                            "without it", spec.path or "object", e)
        btf_fd = kbtf.fd if kbtf is not None else 0
        obj_name = _object_name(spec)

        for name in creation_order(spec.maps):
            ms = spec.maps[name]
            m, reused, pin_at = _make_map(ms, spec, obj_name, btf_fd, pin_path, maps)
            maps[ms.name] = m
            if reused:
                continue
            _initialise(m, ms, blobs)
            if pin_at:
                to_pin.append((m, pin_at))
        kconfig = kconfig_offsets(spec.variables)

        struct_ops_targets = _struct_ops_targets(spec, maps)
        for name in selection.order:
            ps = spec.programs[name]
            if ps.type == ProgramType.UNSPEC:
                log.warning("%s: program %s (section %r) skipped: unknown section type",
                            spec.path or "object", name, ps.section)
                continue
            so = None
            if ps.type == ProgramType.STRUCT_OPS:
                so = struct_ops_targets.get(name)
                if so is None:  # like libbpf: callbacks no struct_ops map uses stay unloaded
                    log.info("%s: struct_ops program %s is not used by any struct_ops map; "
                             "not loaded", spec.path or "object", name)
                    continue
            target = None
            if ps.type == ProgramType.EXT:
                target = (attach_targets or {}).get(name) or _same_object_target(ps, progs)
            progs[name] = load_program(ps, maps, btf=kbtf, kconfig_offsets=kconfig,
                                       log_level=log_level, log_size=log_size,
                                       attach_target=target, struct_ops=so)

        fill_slots(spec.maps, maps, progs, selection.skipped, create_inner=create_map)
        for ms in spec.maps.values():
            m = maps[ms.name]
            if ms.type == MapType.STRUCT_OPS and m._struct_ops is not None:
                from .structops import struct_ops_value

                fds = {n: p.fd for n, p in progs.items()}
                m._struct_ops_value = struct_ops_value(ms, m._struct_ops, fds)
        for m, path in to_pin:
            m.pin(path)
        return KernelObject(spec, progs, maps, kbtf)
    except BaseException:
        for p in progs.values():
            p.close()
        for m in maps.values():
            m.close()
        if kbtf is not None:
            kbtf.close()
        raise


#: options of the vm backend's loader, accepted (and unused) so one call fits both
_VM_ONLY_OPTIONS = frozenset({"jit", "executor", "budget", "verify"})


def _struct_ops_targets(spec: ObjectSpec, maps: dict[str, KernelMap]
                        ) -> dict[str, tuple[int, int, str]]:
    """struct_ops program name → (kernel struct id, member index, module)."""
    out: dict[str, tuple[int, int, str]] = {}
    for ms in spec.maps.values():
        m = maps.get(ms.name)
        if ms.type != MapType.STRUCT_OPS or m is None or m._struct_ops is None:
            continue
        from .structops import program_attach

        kst = m._struct_ops
        for prog, (tid, idx) in program_attach(ms, kst).items():
            if prog in out and out[prog][:2] != (tid, idx):
                raise LoadError(f"program {prog} serves two struct_ops maps differently")
            out[prog] = (tid, idx, kst.module)
    return out


def _same_object_target(ps: Any, progs: dict[str, KernelProgram]) -> KernelProgram | None:
    """A loaded program of the object that contains function ``ps.attach_to``."""
    for p in progs.values():
        if any(f.name == ps.attach_to for f in p.spec.func_infos):
            return p
    return None


def _make_map(ms: MapSpec, spec: ObjectSpec, obj_name: str, btf_fd: int, pin_path: str | None,
              maps: dict[str, KernelMap]) -> tuple[KernelMap, bool, str]:
    """(map, reused from a pin, path to pin it at after initialisation or "")."""
    kname = internal_map_name(obj_name, ms.name) if _is_internal(ms) else ms.name
    s = ms
    if s.type == MapType.PERF_EVENT_ARRAY and s.max_entries == 0:
        s = s.copy()
        s.max_entries = probes.possible_cpus()
    if s.type == MapType.RINGBUF:
        from .maps.create import round_ringbuf

        if s.max_entries != round_ringbuf(s.max_entries):
            s = s.copy()
            s.max_entries = round_ringbuf(s.max_entries)
    pin_at = ""
    if s.pinning == PinType.BY_NAME:
        # iproute2-style objects (maps in a "maps" section, pinning PIN_GLOBAL_NS)
        # share their pins under tc/globals, where tc itself puts them
        legacy = ms.section == "maps" or ms.section.startswith("maps/")
        directory = pin_path or (LEGACY_PIN_PATH if legacy else DEFAULT_PIN_PATH)
        ensure_bpffs_dir(directory)
        pin_at = os.path.join(directory, ms.name)
        if os.path.exists(pin_at):
            m = open_pinned_map(pin_at)
            try:
                _check_compatible(m, _expected(s), pin_at)
            except Error:
                m.close()
                raise
            m.spec = _merge_spec(m.spec, s)
            log.debug("map %s: reusing pinned %s", ms.name, pin_at)
            return m, True, ""
    inner_fd = None
    if s.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS) and s.inner is None:
        # inner template given by an initial value
        for _, v in s.contents:
            name = v if isinstance(v, str) else getattr(v, "name", None)
            if name in maps:
                inner_fd = maps[name].fd
                break
    m = create_map(s, btf_fd=btf_fd, inner_fd=inner_fd, name=kname)
    m.spec = _merge_spec(m.spec, s)
    return m, False, pin_at


def _expected(s: MapSpec) -> MapSpec:
    from .maps.create import normalize

    return normalize(s)


def _merge_spec(live: MapSpec, want: MapSpec) -> MapSpec:
    """Keep the object's names and BTF types on the live map's spec."""
    out = live.copy()
    out.name = want.name
    out.key_type = want.key_type if want.key_type is not None else live.key_type
    out.value_type = want.value_type if want.value_type is not None else live.value_type
    out.section = want.section
    out.pinning = want.pinning
    return out


def _initialise(m: KernelMap, ms: MapSpec, blobs: dict[str, bytes]) -> None:
    key0 = b"\0\0\0\0"
    if ms.type == MapType.STRUCT_OPS:
        return  # its value is built once the programs are loaded, written at attach
    if ms.name == ".kconfig":
        m.update_bytes(key0, blobs[".kconfig"])
    elif ms.type == MapType.ARENA:
        _initialise_arena(m, ms, blobs.get(ms.name, ms.data))
    elif _is_internal(ms) or ms.data is not None:
        initial = blobs.get(ms.name, ms.data)
        if initial is not None and any(initial):
            m.update_bytes(key0, bytes(initial).ljust(ms.value_size, b"\0")[: ms.value_size])
    if ms.type not in SLOT_TYPES:  # those are filled after programs load / all maps exist
        for k, v in ms.contents:
            m[k] = v
    if ms.freeze:
        m.freeze()


def _initialise_arena(m: KernelMap, ms: MapSpec, data: bytes | None) -> None:
    """Map an ARENA (the kernel fixes its user address then; programs using it
    load only after that) and copy the object's ``__arena`` globals into its
    last pages, as libbpf does; relocations add ``arena_data_offset``."""
    import mmap

    size = ms.max_entries * mmap.PAGESIZE
    memory = m.memory
    if data is None:
        return
    need = -(-len(data) // mmap.PAGESIZE) * mmap.PAGESIZE
    if need > size:
        raise MapError(f"arena {ms.name}: its globals need {need} bytes, the arena has {size} "
                       f"({ms.max_entries} pages)")
    m.arena_data_offset = size - need
    memory[m.arena_data_offset:m.arena_data_offset + len(data)] = bytes(data)  # faults pages in
    del memory
