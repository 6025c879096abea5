"""``ebpf.load(constants=...)``: the initial bytes of the global-data maps with
the given globals written in, the same for every backend.

Any global of ``.rodata``/``.data``/``.bss`` (and custom data sections) can be
set; ``.kconfig`` externs cannot (their values come from the kernel config,
see :mod:`.kconfig`). A ``char[N]`` global takes a ``str``/``bytes`` (zero-padded).
"""

from __future__ import annotations

from typing import Any

from .. import codec
from ..errors import LoadError, MapError
from ..spec import ObjectSpec

__all__ = ["apply_constants", "initial_data"]


def apply_constants(spec: ObjectSpec, constants: dict[str, Any]) -> dict[str, bytes]:
    """New initial bytes of the global-data maps with ``constants`` written in,
    by map name (maps no constant touches are absent). Raises
    :class:`ebpf.LoadError` naming the variable and what is wrong."""
    blobs: dict[str, bytearray] = {}
    settable = sorted(n for n, v in spec.variables.items() if v.map != ".kconfig")
    for name, value in constants.items():
        v = spec.variables.get(name)
        if v is None or v.map == ".kconfig":
            raise LoadError(f"constants: no global variable {name!r} in "
                            f"{spec.path or 'the object'} (settable: {', '.join(settable) or 'none'})")
        ms = spec.maps.get(v.map)
        if ms is None:
            raise LoadError(f"constants: variable {name} lives in {v.map}, which is not a map")
        blob = blobs.get(v.map)
        if blob is None:
            blob = bytearray((ms.data or b"").ljust(ms.value_size, b"\0"))
            blobs[v.map] = blob
        if isinstance(value, (str, bytes, bytearray)) and _is_array(v.type):
            data = value.encode() if isinstance(value, str) else bytes(value)
            if len(data) > v.size:
                raise LoadError(f"constants: {name} holds {v.size} bytes, got {len(data)}")
            value = data.ljust(v.size, b"\0")  # a C string: zero-padded
        try:
            raw = codec.encode(value, v.size, v.type, f"constant {name}")
        except MapError as e:
            raise LoadError(f"constants: {e}") from None
        blob[v.offset:v.offset + v.size] = raw
    return {k: bytes(b) for k, b in blobs.items()}


def initial_data(spec: ObjectSpec, constants: dict[str, Any]) -> dict[str, bytes]:
    """The initial bytes of the maps a backend writes before loading programs:
    global-data maps with ``constants`` written in (:func:`apply_constants`) and
    the ``.kconfig`` map with this machine's configuration (see :mod:`.kconfig`)."""
    blobs = apply_constants(spec, constants)
    kc = spec.maps.get(".kconfig")
    if kc is not None:
        from .kconfig import fill_kconfig_data

        blobs[".kconfig"], _ = fill_kconfig_data(spec.variables, kc.value_size)
    return blobs


def _is_array(t: Any) -> bool:
    if t is None:
        return False
    from .. import btf

    return isinstance(btf.resolve(t), btf.Array)
