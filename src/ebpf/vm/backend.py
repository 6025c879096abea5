"""The vm backend (the in-process runtime): the factories :class:`ebpf.backend.Backend` names."""

from __future__ import annotations

from typing import Any

from ..errors import NotSupportedError


class VMBackend:
    """Objects, programs and maps of the in-process runtime; usable everywhere."""

    name = "vm"

    def usable(self) -> bool:
        return True

    def load_object(self, spec: Any, *, constants: dict[str, Any], pin_path: str | None,
                    **options: Any) -> Any:
        from .objects import load_object

        return load_object(spec, constants=constants, pin_path=pin_path, **options)

    def load_program(self, spec: Any, **options: Any) -> Any:
        from .programs import load_program

        options.setdefault("verify", True)
        return load_program(spec, **options)

    def create_map(self, spec: Any) -> Any:
        from .maps import create_map

        return create_map(spec)

    def open_pinned_map(self, path: str) -> Any:
        raise NotSupportedError("pinning", detail="the vm backend has no bpffs")

    def open_map_by_id(self, map_id: int) -> Any:
        raise NotSupportedError("map ids", detail="the vm backend has none")


BACKEND = VMBackend()
