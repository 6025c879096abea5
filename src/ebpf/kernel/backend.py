"""The kernel backend (bpf(2)): the factories :class:`ebpf.backend.Backend` names."""

from __future__ import annotations

from typing import Any


class KernelBackend:
    """Objects, programs and maps in the running Linux kernel."""

    name = "kernel"

    def usable(self) -> bool:
        from .probes import bpf_usable

        return bpf_usable()

    def load_object(self, spec: Any, *, constants: dict[str, Any], pin_path: str | None,
                    **options: Any) -> Any:
        from .objects import load_object

        return load_object(spec, constants=constants, pin_path=pin_path, **options)

    def load_program(self, spec: Any, **options: Any) -> Any:
        from .programs import load_program

        return load_program(spec, **options)

    def create_map(self, spec: Any) -> Any:
        from .maps import create_map

        return create_map(spec)

    def open_pinned_map(self, path: str) -> Any:
        from .maps import open_pinned_map

        return open_pinned_map(path)

    def open_map_by_id(self, map_id: int) -> Any:
        from .maps import open_map_by_id

        return open_map_by_id(map_id)


BACKEND = KernelBackend()
