"""The backend contract: what a backend supplies, and the one registry naming backends.

``Map``, ``Program``, ``Object``, ``RingBuffer`` and ``PerfBuffer`` own every
user-visible behaviour; a backend supplies the layer below them in two parts:

* a :class:`Backend` (this module): the factories: load an object or a
  program, create a map, open a pinned map or a map by id, say whether it is
  usable here;
* the subclasses its factories return, which implement the raw operations the
  base classes call (see :class:`RawMap` and :class:`RawProgram`): map lookups
  and updates on bytes, the record consumer of ring and perf buffers, test runs.

Backends are looked up by name in :data:`BACKENDS`, the only place that names
them; each entry is imported on first use, so the base API never imports a
backend.

>>> from ebpf.backend import get_backend
>>> get_backend("vm").name
'vm'
>>> get_backend("nope")
Traceback (most recent call last):
...
ValueError: unknown backend 'nope' (use 'kernel' or 'vm')
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from .maps import Map
    from .objects import Object
    from .programs import Program, RunResult
    from .spec import MapSpec, ObjectSpec, ProgramSpec

#: every backend by name: ``"module:attribute"`` of an object implementing :class:`Backend`
BACKENDS: dict[str, str] = {
    "kernel": "ebpf.kernel.backend:BACKEND",
    "vm": "ebpf.vm.backend:BACKEND",
}

#: the backend whose objects live in bpffs (``Map.from_pin``/``from_id``)
PIN_BACKEND = "kernel"

_LOADED: dict[str, Backend] = {}


@runtime_checkable
class Backend(Protocol):
    """The factories of one backend."""

    #: the name users pass as ``backend=``
    name: str

    def usable(self) -> bool:
        """Whether programs can be loaded here (for the default backend)."""

    def load_object(self, spec: ObjectSpec, *, constants: dict[str, Any],
                    pin_path: str | None, **options: Any) -> Object:
        """Create the maps of ``spec``, load its programs, return the Object."""

    def load_program(self, spec: ProgramSpec, **options: Any) -> Program:
        """Load one program whose references resolve without an object."""

    def create_map(self, spec: MapSpec) -> Map:
        """Create one standalone map."""

    def open_pinned_map(self, path: str) -> Map:
        """Open a map pinned at ``path``."""

    def open_map_by_id(self, map_id: int) -> Map:
        """Open a map by its id."""


class RawMap(Protocol):
    """The raw operations a backend's ``Map`` subclass implements; the base
    class builds the dict behaviour, encoding and errors on them."""

    def lookup_bytes(self, key: bytes) -> bytes | None: ...
    def update_bytes(self, key: bytes, value: bytes, flags: int = 0) -> None: ...
    def delete_bytes(self, key: bytes) -> bool: ...
    def next_key_bytes(self, key: bytes | None) -> bytes | None: ...
    def push_bytes(self, value: bytes, flags: int = 0) -> None: ...
    def pop_bytes(self, peek: bool = False) -> bytes | None: ...

    def _ring_consumer(self) -> Any:
        """The record consumer of a RINGBUF / PERF_EVENT_ARRAY map (see :mod:`ebpf.ringbuf`)."""


class RawProgram(Protocol):
    """What a backend's ``Program`` subclass implements."""

    def test_run(self, data: bytes = b"", *, repeat: int = 1,
                 ctx: bytes | None = None) -> RunResult: ...


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (ValueError for an unknown name)."""
    backend = _LOADED.get(name)
    if backend is not None:
        return backend
    where = BACKENDS.get(name)
    if where is None:
        raise ValueError(f"unknown backend {name!r} (use {' or '.join(map(repr, BACKENDS))})")
    module, _, attr = where.partition(":")
    backend = getattr(import_module(module), attr)
    _LOADED[name] = backend
    return backend


def register_backend(name: str, where: str) -> None:
    """Add a backend: ``where`` is ``"module:attribute"`` of its :class:`Backend`."""
    BACKENDS[name] = where
    _LOADED.pop(name, None)


def default_backend() -> str:
    """The first usable backend in :data:`BACKENDS` order (``"kernel"`` when
    bpf(2) is usable here: Linux, privileged), the last one otherwise; the
    EBPF_BACKEND environment variable overrides."""
    forced = os.environ.get("EBPF_BACKEND")
    if forced:
        return forced
    names = list(BACKENDS)
    for name in names[:-1]:
        try:
            if get_backend(name).usable():
                return name
        except ImportError:
            continue
    return names[-1]
