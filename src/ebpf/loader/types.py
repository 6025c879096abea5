"""A spec's type as the member of its enum: a map or program type given as a
plain number becomes :class:`~ebpf.uapi.MapType` / :class:`~ebpf.uapi.ProgramType`,
and a number neither knows is one error, whichever backend is asked.

>>> from ebpf.spec import MapSpec
>>> known_type(MapSpec(name="m", type=2, key_size=4, value_size=4, max_entries=1)).type
<MapType.ARRAY: 2>
>>> known_type(MapSpec(name="m", type=999))
Traceback (most recent call last):
...
ebpf.errors.NotSupportedError: map type 999 is not supported: map 'm': not a map type this library knows
"""

from __future__ import annotations

from typing import TypeVar

from ..errors import NotSupportedError
from ..spec import MapSpec, ProgramSpec
from ..uapi import MapType, ProgramType

__all__ = ["known_type"]

_S = TypeVar("_S", MapSpec, ProgramSpec)


def known_type(spec: _S) -> _S:
    """``spec``, or a copy whose ``type`` is the enum member of its number; raises
    :class:`ebpf.NotSupportedError` when no member has that number."""
    kind, enum = ("map", MapType) if isinstance(spec, MapSpec) else ("program", ProgramType)
    try:
        member = enum(spec.type)
    except ValueError:
        raise NotSupportedError(f"{kind} type {spec.type!r}",
                                detail=f"{kind} {spec.name!r}: not a {kind} type this "
                                       "library knows") from None
    if member is not spec.type:
        spec = spec.copy()
        spec.type = member
    return spec
