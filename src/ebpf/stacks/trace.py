"""Stack traces as the kernel stores them: STACK_TRACE maps (``bpf_get_stackid``)
and ``bpf_get_stack`` buffers, as instruction pointers or as build-id frames.

A STACK_TRACE map's value is ``__u64 ips[depth]``, innermost first, zero-filled
after the last frame. With ``BPF_F_STACK_BUILD_ID`` (map flag; ``BPF_F_USER_BUILD_ID``
for ``bpf_get_stack``) each frame is a ``struct bpf_stack_build_id`` (32 bytes):
``__s32 status; unsigned char build_id[20]; union { __u64 offset; __u64 ip; }``.
"""

from __future__ import annotations

import errno as _errno
import struct
from dataclasses import dataclass
from typing import Any

from ..errors import Error
from ..uapi.consts import (
    BPF_F_FAST_STACK_CMP,
    BPF_F_REUSE_STACKID,
    BPF_F_STACK_BUILD_ID,
    BPF_F_USER_BUILD_ID,
    BPF_F_USER_STACK,
)

# enum bpf_stack_build_id_status
BUILD_ID_EMPTY = 0  # no build id: the frame is empty
BUILD_ID_VALID = 1  # build_id and offset are valid
BUILD_ID_IP = 2  # no build id could be read: ip holds the raw address

_BUILD_ID_FRAME = struct.Struct("<i20sQ")
BUILD_ID_FRAME_SIZE = 32
assert _BUILD_ID_FRAME.size == BUILD_ID_FRAME_SIZE


class StackError(Error):
    """A stack id or buffer that cannot be read as a stack."""


@dataclass(frozen=True)
class BuildIdFrame:
    """One ``struct bpf_stack_build_id``: a file (by build id) and an offset in it,
    or (``status == BUILD_ID_IP``) a raw address."""

    status: int
    build_id: bytes
    offset: int  # file offset when status is BUILD_ID_VALID, else the ip

    @property
    def valid(self) -> bool:
        return self.status == BUILD_ID_VALID


def parse_ips(raw: bytes) -> list[int]:
    """The addresses of a stack buffer (``__u64`` each, innermost first), up to
    the first zero."""
    if len(raw) % 8:
        raise StackError(f"stack buffer of {len(raw)} bytes is not a whole number of "
                         "8-byte addresses")
    out = []
    for (ip,) in struct.iter_unpack("<Q", raw):
        if ip == 0:
            break
        out.append(ip)
    return out


def parse_build_id_frames(raw: bytes) -> list[BuildIdFrame]:
    """The frames of a build-id stack buffer, up to the first empty one."""
    if len(raw) % BUILD_ID_FRAME_SIZE:
        raise StackError(f"build-id stack buffer of {len(raw)} bytes is not a whole number "
                         f"of {BUILD_ID_FRAME_SIZE}-byte struct bpf_stack_build_id")
    out = []
    for status, bid, off in _BUILD_ID_FRAME.iter_unpack(raw):
        if status == BUILD_ID_EMPTY:
            break
        out.append(BuildIdFrame(status, bid, off))
    return out


def stack_id_error(stack_id: int) -> str | None:
    """What a negative ``bpf_get_stackid`` result means (None for a valid id)."""
    if stack_id >= 0:
        return None
    return {
        -_errno.EFAULT: "no stack (no user context, or the walk failed)",
        -_errno.EEXIST: "hash collision dropped the stack (map too small)",
        -_errno.ENOMEM: "stack map full",
        -_errno.EINVAL: "bad flags",
    }.get(stack_id, f"error {stack_id}")


class StackTraceMap:
    """Read stacks out of a STACK_TRACE map by id (cached: an id's stack never
    changes while the map is in use).

    ``build_id`` is taken from the map's ``BPF_F_STACK_BUILD_ID`` flag.
    """

    def __init__(self, map_: Any):
        from ..uapi import MapType

        if map_.type != MapType.STACK_TRACE:
            raise StackError(f"map {map_.name!r} is a {map_.type.name} map, not STACK_TRACE")
        self.map = map_
        self.build_id = bool(map_.flags & BPF_F_STACK_BUILD_ID)
        self._cache: dict[int, list[int] | list[BuildIdFrame]] = {}

    def get(self, stack_id: int) -> list[int] | list[BuildIdFrame]:
        """The stack with id ``stack_id`` (empty for a negative id or a missing one)."""
        if stack_id < 0:
            return []
        hit = self._cache.get(stack_id)
        if hit is not None:
            return hit
        raw = self.map.lookup_bytes(struct.pack("<I", stack_id))
        if raw is None:
            return []
        stack: list[int] | list[BuildIdFrame] = (parse_build_id_frames(raw) if self.build_id
                                                 else parse_ips(raw))
        self._cache[stack_id] = stack
        return stack

    def ids(self) -> list[int]:
        """Every stack id present in the map."""
        return [struct.unpack("<I", k)[0] for k in self.map.raw_keys()]


__all__ = ["BPF_F_FAST_STACK_CMP", "BPF_F_REUSE_STACKID", "BPF_F_STACK_BUILD_ID",
           "BPF_F_USER_BUILD_ID", "BPF_F_USER_STACK", "BUILD_ID_IP", "BUILD_ID_VALID",
           "BuildIdFrame", "StackError", "StackTraceMap", "parse_build_id_frames",
           "parse_ips", "stack_id_error"]
