"""STRUCT_OPS: a struct of function pointers implemented by an object's programs.

An object's ``SEC(".struct_ops")`` / ``SEC(".struct_ops.link")`` variable (a
``struct tcp_congestion_ops``, a ``sched_ext_ops``...) becomes a map whose one
value is the struct: its data members as the object initialised them, and, for
each function-pointer member, the program that implements it (``members``).
The kernel registers such a map with the subsystem it extends (TCP congestion
control, the scheduler); the runtime has no such subsystem, so the map loads,
reads back and names its programs, and each program runs when called
(``Program.run`` with the member's arguments).
"""

from __future__ import annotations

import errno
from typing import Any

from ...spec import MapSpec
from .base import VMMap


class StructOpsMap(VMMap):
    """STRUCT_OPS: one value (key 0), the struct's bytes; ``members`` maps each
    function-pointer member to the name of the program implementing it."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.value = bytearray(spec.value_size)
        if spec.data:
            self.value[:len(spec.data)] = spec.data[:spec.value_size]
        self.members: dict[str, str] = {str(m): str(p) for m, p in spec.contents
                                        if isinstance(p, str)}

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        return bytes(self.value) if int.from_bytes(key, "little") == 0 else None

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        if int.from_bytes(key, "little") != 0:
            return -errno.E2BIG
        self.value[:] = value
        return 0

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return bytes(self.key_size) if key is None else None

    def __repr__(self) -> str:
        progs: Any = ", ".join(f"{m}={p}" for m, p in self.members.items())
        return super().__repr__()[:-1] + f" members: {progs}>"
