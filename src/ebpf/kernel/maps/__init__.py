"""Kernel maps: created from a :class:`~ebpf.spec.MapSpec` through BPF_MAP_CREATE.

:mod:`.map` is :class:`KernelMap` (element and map-wide commands), :mod:`.batch`
the batch commands, :mod:`.memory` mmapable arrays and arenas, :mod:`.create`
making and opening maps, :mod:`.errors` what a failed command means.

>>> import ebpf
>>> m = ebpf.Map.create(ebpf.MapSpec(name="c", type=ebpf.MapType.HASH, key_size=4,
...                                  value_size=8, max_entries=8))
>>> m[1] = 10; m[1]
10
>>> m.close()
"""

from .create import (
    create_map,
    open_map_by_id,
    open_pinned_map,
    readonly_prog_flags,
    sanitize_name,
)
from .errors import ENOTSUPP
from .map import KernelMap

__all__ = ["ENOTSUPP", "KernelMap", "create_map", "open_map_by_id", "open_pinned_map",
           "readonly_prog_flags", "sanitize_name"]
