"""``.kconfig`` externs (``extern int CONFIG_HZ __kconfig;``): their values, the
same for every backend (the runtime stands in for the machine it runs on).

Values come from the host's kernel config (:func:`ebpf._internal.host.kernel_config`,
/proc/config.gz or /boot/config-$(uname -r)): ``y`` → 1,
``m`` → 2, ``n`` (or "is not set") → 0, numbers as numbers, strings as bytes.
``LINUX_KERNEL_VERSION`` and the other ``LINUX_*`` externs libbpf defines are
computed here.

>>> from ebpf.loader.kconfig import encode_kconfig
>>> encode_kconfig("CONFIG_HZ", "250", 4)
b'\\xfa\\x00\\x00\\x00'
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .._internal.host import kernel_config, kernel_version_code
from ..errors import LoadError

log = logging.getLogger("ebpf.loader")

__all__ = ["kconfig_value", "encode_kconfig", "fill_kconfig_data"]


def kconfig_value(name: str) -> str | int | None:
    """Raw value of ``name``: kernel config entries and the LINUX_* specials."""
    if name == "LINUX_KERNEL_VERSION":
        return kernel_version_code()
    if name == "LINUX_HAS_BPF_COOKIE":
        return 1
    if name == "LINUX_HAS_SYSCALL_WRAPPER":
        return 1 if os.uname().machine in ("x86_64", "aarch64", "s390x") else 0
    return kernel_config().get(name)


def _btf():
    from .. import btf

    return btf


def encode_kconfig(name: str, raw: str | int | None, size: int, btf_type: Any = None) -> bytes:
    """Encode one extern's value into ``size`` bytes, shaped by its BTF type."""
    B = _btf()
    t = B.resolve(btf_type) if btf_type is not None else None
    if raw is None:
        return bytes(size)
    if isinstance(t, B.Array):  # char[N]: a string value
        s = raw if isinstance(raw, str) else str(raw)
        if not (s.startswith('"') and s.endswith('"')):
            raise LoadError(f"kconfig {name}={s} is not a string, the extern is char[{size}]")
        data = s[1:-1].encode()
        return data[: size - 1].ljust(size, b"\0")
    if isinstance(raw, int):
        v = raw
    elif raw in ("y", "m", "n"):
        tristate = isinstance(t, B.Enum)
        if raw == "m" and not tristate and not (isinstance(t, B.Int) and t.size > 1 and not t.is_bool):
            # bool extern of a module option: libbpf reports it as set
            v = 1
        else:
            v = {"y": 1, "m": 2, "n": 0}[raw]
    else:
        s = raw.strip('"')
        try:
            v = int(s, 0)
        except ValueError:
            raise LoadError(f"kconfig {name}={raw}: not a number, the extern is a "
                            f"{size}-byte integer") from None
    signed = isinstance(t, B.Int) and t.signed
    try:
        return v.to_bytes(size, "little", signed=signed or v < 0)
    except OverflowError:
        raise LoadError(f"kconfig {name}={raw} does not fit the {size}-byte extern") from None


def fill_kconfig_data(variables: dict[str, Any], size: int) -> tuple[bytes, dict[str, int]]:
    """The ``.kconfig`` map's bytes for the extern ``variables`` (VariableSpecs
    in the ``.kconfig`` map) and each one's offset."""
    buf = bytearray(size)
    offsets: dict[str, int] = {}
    for v in variables.values():
        if v.map != ".kconfig":
            continue
        offsets[v.name] = v.offset
        raw = kconfig_value(v.name)
        if raw is None:
            log.debug("kconfig %s not found; it reads as 0", v.name)
        buf[v.offset:v.offset + v.size] = encode_kconfig(v.name, raw, v.size, v.type)
    return bytes(buf), offsets


def kconfig_offsets(variables: dict[str, Any]) -> dict[str, int]:
    """Where each ``.kconfig`` extern sits in the ``.kconfig`` map (what a
    relocation of it points at)."""
    return {v.name: v.offset for v in variables.values() if v.map == ".kconfig"}
