"""Filling program arrays and maps of maps from an object's spec, once the
programs are loaded and the maps exist, the same for every backend.

A slot's value in ``MapSpec.contents`` names a program or a map of the object
(what the ELF reader records), or is a loaded ``Program``/``Map`` (or fd, or an
inner ``MapSpec`` a backend creates); the backend's own map writes it (a fd in
the kernel, the object in the vm: ``Map.__setitem__``). A program the load left
out (``autoload`` off, or not in ``programs=``) leaves its slot empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from collections.abc import Set as AbstractSet
from typing import Any

from ..errors import LoadError
from ..spec import MapSpec
from ..uapi import MapType

log = logging.getLogger("ebpf.loader")

__all__ = ["MAP_IN_MAP_TYPES", "SLOT_TYPES", "creation_order", "fill_slots"]

MAP_IN_MAP_TYPES = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})
#: map types whose ``contents`` are filled here, after the programs load
SLOT_TYPES = MAP_IN_MAP_TYPES | {MapType.PROG_ARRAY}


def creation_order(map_specs: Mapping[str, MapSpec]) -> list[str]:
    """The names of the maps in the order a backend creates them: maps of maps
    after the others (an inner map they name exists by then), otherwise as
    declared (so ``Object.maps`` lists them alike on every backend)."""
    return sorted(map_specs, key=lambda name: map_specs[name].type in MAP_IN_MAP_TYPES)


def fill_slots(map_specs: Mapping[str, MapSpec], maps: MutableMapping[str, Any],
               programs: Mapping[str, Any], skipped: AbstractSet[str] = frozenset(), *,
               create_inner: Callable[[MapSpec], Any] | None = None) -> None:
    """Write the ``contents`` of every program array and map of maps in
    ``map_specs`` into the matching map of ``maps``. ``programs`` are the loaded
    programs by name, ``skipped`` the ones the load left out. An inner map given
    as a ``MapSpec`` the object has no map for is made by ``create_inner`` and
    kept in ``maps`` (closed with the object). Raises :class:`ebpf.LoadError`."""
    for name, ms in map_specs.items():
        if ms.type not in SLOT_TYPES or not ms.contents:
            continue
        m = maps[name]
        for key, value in ms.contents:
            if ms.type == MapType.PROG_ARRAY:
                target = _program(ms, key, value, programs, skipped)
                if target is None:
                    continue
            else:
                target = _inner_map(ms, key, value, maps, create_inner)
            m[key] = target


def _program(ms: MapSpec, key: Any, value: Any, programs: Mapping[str, Any],
             skipped: AbstractSet[str]) -> Any:
    """What a program-array slot gets; None to leave it empty."""
    if not isinstance(value, str):
        return value  # a loaded program (of any object) or its fd
    p = programs.get(value)
    if p is None and value in skipped:
        log.debug("program array %s: slot %s left empty (%s not loaded)", ms.name, key, value)
        return None
    if p is None:
        raise LoadError(f"program array {ms.name}: slot {key} names program {value!r}, "
                        "which was not loaded")
    return p


def _inner_map(ms: MapSpec, key: Any, value: Any, maps: MutableMapping[str, Any],
               create_inner: Callable[[MapSpec], Any] | None) -> Any:
    """What a map-of-maps slot gets."""
    if isinstance(value, MapSpec):
        inner = maps.get(value.name)
        if inner is None and create_inner is not None:
            inner = maps[value.name] = create_inner(value)
        name: Any = value.name
    elif isinstance(value, str):
        inner, name = maps.get(value), value
    else:
        return value  # a created map (of any object) or its fd
    if inner is None:
        raise LoadError(f"map-in-map {ms.name}: slot {key} names map {name!r}, "
                        "which was not created")
    return inner
