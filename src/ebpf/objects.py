"""``Object``: a loaded ELF object (programs, maps, global variables) and ``load()``.

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o", backend="vm") as obj:  # doctest: +SKIP
...     obj.programs["xdp_count"].test_run(b"\\0" * 64).retval
2
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import codec
from ._internal.closeable import ClosedWhenCollected
from .backend import default_backend, get_backend
from .errors import Error, LoadError, MapError
from .links import Link
from .maps import Map
from .programs import Program
from .spec import ObjectSpec, PinType, VariableSpec
from .uapi import ProgramType

log = logging.getLogger("ebpf")


class Variable:
    """A global variable of a loaded object, read and written through its
    global-data map (``.data``, ``.bss``: read/write; ``.rodata``: read-only
    once loaded)."""

    def __init__(self, spec: VariableSpec, map_: Map):
        self.spec = spec
        self.map = map_

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def size(self) -> int:
        return self.spec.size

    @property
    def readonly(self) -> bool:
        return self.spec.readonly

    def _blob(self) -> bytes:
        raw = self.map.lookup_bytes(b"\0\0\0\0")
        if raw is None:
            raise MapError(f"global data map {self.map.name} has no value")
        return raw

    @property
    def raw(self) -> bytes:
        """The variable's bytes."""
        return self._blob()[self.spec.offset:self.spec.offset + self.spec.size]

    @property
    def value(self) -> Any:
        """The variable decoded through BTF (int, bytes, struct, list)."""
        return codec.decode(self.raw, self.spec.type)

    @value.setter
    def value(self, new: Any) -> None:
        if self.readonly:
            raise MapError(f"variable {self.name} is read-only (in {self.spec.map}); "
                           "set constants with ebpf.load(..., constants={...})")
        blob = bytearray(self._blob())
        blob[self.spec.offset:self.spec.offset + self.spec.size] = codec.encode(
            new, self.spec.size, self.spec.type, f"variable {self.name}")
        self.map.update_bytes(b"\0\0\0\0", bytes(blob))

    def __repr__(self) -> str:
        return f"<Variable {self.name} in {self.spec.map} size={self.size}>"


class Object(ClosedWhenCollected):
    """A loaded object. ``close()`` (or leaving ``with``) releases every program,
    map and link it made."""

    backend: str = ""

    def __init__(self, spec: ObjectSpec, programs: Mapping[str, Program],
                 maps: Mapping[str, Map]):
        self.spec = spec
        # read-only views for users; each backend's object narrows the value types
        self.programs: Mapping[str, Program] = programs
        self.maps: Mapping[str, Map] = maps
        self.variables: dict[str, Variable] = {
            name: Variable(v, maps[v.map]) for name, v in spec.variables.items() if v.map in maps
        }
        self.links: list[Link] = []
        self._closed = False
        # each program and map keeps its object alive, so that
        # ebpf.load(...).programs["p"].test_run(...) works in one expression
        for prog in programs.values():
            prog._object = self
        for m in maps.values():
            m._object = self

    def attach(self) -> list[Link]:
        """Attach every program whose section fully says where; returns the links
        (also kept on the object and closed with it)."""
        new = []
        try:
            for prog in self.programs.values():
                if prog.spec.needs_target:
                    continue
                new.append(prog.attach())
        except Error:
            for link in new:
                link.close()
            raise
        self.links.extend(new)
        return new

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for link in reversed(self.links):
            try:
                link.close()
            except Error as e:  # keep releasing the rest
                log.warning("closing %r: %s", link, e)
        self.links.clear()
        for prog in self.programs.values():
            prog.close()
        for m in self.maps.values():
            m.close()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.spec.path or ''} programs={sorted(self.programs)} "
                f"maps={sorted(self.maps)}>")


def _check_names(option: str, given: Iterable[str], have: Iterable[str], what: str) -> None:
    """A LoadError when option ``option`` names a ``what`` the object does not have."""
    unknown = sorted(set(given) - set(have))
    if unknown:
        raise LoadError(f"{option}= names {', '.join(unknown)}: no such {what} (the object "
                        f"has {', '.join(sorted(have)) or 'none'})")


def _as_enum(enum: Any, value: Any, where: str, hint: str) -> Any:
    """``enum(value)``, or a LoadError saying ``where: hint``."""
    try:
        return enum(value)
    except ValueError:
        raise LoadError(f"{where}: {hint}") from None


def with_pinning(spec: ObjectSpec, pinning: Mapping[str, PinType | int]) -> ObjectSpec:
    """``spec`` with the maps named in ``pinning`` re-pinned (a copy when anything
    changes); a pinning libbpf does not know left in place raises :class:`LoadError`."""
    _check_names("pinning", pinning, spec.maps, "map")
    if pinning:
        spec = copy.copy(spec)
        spec.maps = dict(spec.maps)
        for name, how in pinning.items():
            how = _as_enum(PinType, how, f"pinning={{{name!r}: {how!r}}}",
                           "use PinType.NONE or PinType.BY_NAME")
            ms = spec.maps[name].copy()
            ms.pinning = how
            spec.maps[name] = ms
    for ms in spec.maps.values():
        if not isinstance(ms.pinning, PinType):
            raise LoadError(
                f"map {ms.name}: pinning value {ms.pinning} is not one libbpf knows "
                "(0 = none, 1 = LIBBPF_PIN_BY_NAME); load with "
                f"pinning={{{ms.name!r}: ebpf.PinType.NONE}} (or BY_NAME) to choose")
    return spec


def with_program_types(spec: ObjectSpec, types: Mapping[str, ProgramType],
                       wanted: Any = None) -> ObjectSpec:
    """``spec`` with the programs named in ``types`` given that type (attach type and
    kind as its plainest section says); programs whose section names no known type
    and that got none are left out with a warning (a copy when anything changes).
    Asking for such a program by name (``programs=[...]``) is a :class:`LoadError`."""
    from .spec.sections import section_for_type

    _check_names("program_types", types, spec.programs, "program")
    untyped = [n for n, ps in spec.programs.items()
               if ps.type == ProgramType.UNSPEC and n not in types]
    if not types and not untyped:
        return spec
    spec = copy.copy(spec)
    spec.programs = dict(spec.programs)
    for name, ptype in types.items():
        ptype = _as_enum(ProgramType, ptype, f"program_types={{{name!r}: {ptype!r}}}",
                         "not an ebpf.ProgramType")
        info = section_for_type(ptype)
        ps = spec.programs[name].copy()
        ps.type = ptype
        ps.attach_type = info.attach_type if ps.attach_type is None else ps.attach_type
        ps.attach_kind = info.attach_kind
        ps.section_info = info  # attach dispatch reads the parsed section facts
        spec.programs[name] = ps
    for name in untyped:
        ps = spec.programs[name]
        hint = (f"give its type with ebpf.load(..., program_types={{{name!r}: "
                "ebpf.ProgramType.XDP}) (or the type it has)")
        if wanted is not None and name in wanted:
            raise LoadError(f"program {name} (section {ps.section!r}): the section names no "
                            f"program type; {hint}")
        if ps.autoload:
            log.warning("%s: program %s (section %r) not loaded: the section names no program "
                        "type; %s", spec.path or "object", name, ps.section, hint)
        ps = ps.copy()
        ps.autoload = False
        spec.programs[name] = ps
    return spec


def load(source: str | os.PathLike | bytes | ObjectSpec, *, backend: str | None = None,
         constants: dict[str, Any] | None = None, pin_path: str | None = None,
         pinning: Mapping[str, PinType | int] | None = None,
         program_types: Mapping[str, ProgramType] | None = None,
         **options: Any) -> Object:
    """Load an object (a path, ELF bytes or an :class:`ObjectSpec`) on a backend:
    ``"kernel"`` (bpf(2)) or ``"vm"`` (the in-process runtime); default
    :func:`default_backend`. ``constants`` set ``const volatile`` globals before
    load; ``pin_path`` is where maps with ``pinning = LIBBPF_PIN_BY_NAME`` live.
    ``pinning`` overrides maps' pinning by name (``{"m": PinType.NONE}``), e.g. for
    objects written for cilium/ebpf, whose pinning values libbpf does not know.
    ``program_types`` gives programs their type by name (``{"p": ProgramType.XDP}``):
    a program whose section names no known type is otherwise not loaded, with a
    warning, on every backend."""
    if isinstance(source, ObjectSpec):
        spec = source
    elif isinstance(source, (bytes, bytearray)):
        spec = ObjectSpec.from_bytes(bytes(source))
    else:
        spec = ObjectSpec.from_file(Path(source))
    spec = with_pinning(spec, pinning or {})
    spec = with_program_types(spec, program_types or {}, options.get("programs"))
    backend = backend or default_backend()
    return get_backend(backend).load_object(spec, constants=constants or {}, pin_path=pin_path,
                                            **options)
