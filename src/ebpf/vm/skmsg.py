"""An SK_MSG program's message: the ``struct sk_msg_md`` it sees and the
scatterlist behind it, as the kernel keeps a message sent on a socket of a
sockmap.

The kernel holds a message as a list of scatterlist elements (at most 17,
MAX_MSG_FRAGS) and shows a program the first one through ``data`` / ``data_end``;
``size`` is the whole message's length. A message sent with ``sendmsg`` starts as
one element. ``bpf_msg_pull_data`` points ``data`` at a range, joining the
elements it spans into one; ``bpf_msg_push_data`` inserts a new element (splitting
the one it lands in), ``bpf_msg_pop_data`` cuts bytes out (splitting or
trimming elements); after either, ``data`` is the first element again. The
runtime keeps the same list, so a program sees the same ``data_end - data`` and
the same bytes as on the kernel after every call (what a pushed element holds
before the program writes it is not defined on the kernel: zeros here).

A test run's data is the message; its ctx (``struct sk_msg_md``) gives
``family``, the addresses and ports (``data``, ``data_end``, ``size`` and ``sk`` are
the runtime's; ``sk`` is NULL: no socket stands behind a test run). Data out is
the message after the program; ctx out the ``sk_msg_md`` after it. What the
program asked with ``bpf_msg_apply_bytes`` / ``bpf_msg_cork_bytes`` is kept on the
context (``apply_bytes``, ``cork_bytes``): a run is one message, the next
message's run is the caller's.
"""

from __future__ import annotations

import struct

from ..uapi.contexts import SK_MSG_MD
from .contexts import Context, _ctx_region
from .memory import PACKET_BASE, Memory, Region

#: MAX_MSG_FRAGS: the most scatterlist elements a message has
MAX_MSG_FRAGS = 17
_F = SK_MSG_MD.fields
#: what a test run's ctx may set (the runtime fills the rest)
_SETTABLE = ("family", "remote_ip4", "local_ip4", "remote_ip6", "local_ip6", "remote_port",
             "local_port")


class SkMsgContext(Context):
    """``struct sk_msg_md`` over a scatterlist of ``bytearray`` elements."""

    def __init__(self, mem: Memory, data: bytes, ctx_in: bytes | None):
        self.mem = mem
        self.ctx_in = ctx_in
        self.data_in = bytes(data)
        self.buf = bytearray(SK_MSG_MD.size)
        self.region = _ctx_region(mem, self.buf, "sk_msg_md", fields=[])
        self.addr = self.region.base
        self.elems: list[bytearray] = []
        self.data_region: Region | None = None
        self.apply_bytes = 0
        self.cork_bytes = 0

    def begin(self) -> None:
        self.buf[:] = bytes(SK_MSG_MD.size)
        if self.ctx_in is not None:
            given = self.ctx_in[:SK_MSG_MD.size]
            for name in _SETTABLE:
                f = _F[name]
                self.buf[f.offset:f.offset + f.size] = given[f.offset:f.offset + f.size].ljust(
                    f.size, b"\0")
        self.elems = [bytearray(self.data_in)] if self.data_in else []
        self.apply_bytes = self.cork_bytes = 0
        self.point_at_first()

    @property
    def size(self) -> int:
        return sum(len(e) for e in self.elems)

    def _show(self, elem: bytearray, start: int, end: int) -> None:
        """Point ``data``/``data_end`` at ``elem[start:end]``; ``size`` follows the message."""
        if self.data_region is not None:
            self.mem.remove_local(self.data_region)
        self.data_region = self.mem.add_local(Region(PACKET_BASE + start, elem, "sk_msg data",
                                                     size=end - start, off=start))
        struct.pack_into("<QQ", self.buf, _F["data"].offset, PACKET_BASE + start, PACKET_BASE + end)
        struct.pack_into("<I", self.buf, _F["size"].offset, self.size)

    def point_at_first(self) -> None:
        """The kernel's sk_msg_compute_data_pointers: the first element."""
        first = self.elems[0] if self.elems else bytearray()
        self._show(first, 0, len(first))

    def locate(self, start: int) -> tuple[int, int, int]:
        """(index, offset, length) of the element holding byte ``start``, searched as
        the kernel searches: past the end, the last element (index = count)."""
        offset = length = 0
        i = 0
        while i < len(self.elems):
            offset += length
            length = len(self.elems[i])
            if start < offset + length:
                break
            i += 1
        return i, offset, length

    # ---- the helpers' work -----------------------------------------------------
    def pull(self, start: int, end: int) -> bool:
        i, offset, length = self.locate(start)
        if i == len(self.elems) or start >= offset + length:
            return False
        want = start - offset + (end - start)
        if want <= length:
            self._show(self.elems[i], start - offset, start - offset + end - start)
            return True
        last, copied = i, 0
        while last < len(self.elems):
            copied += len(self.elems[last])
            last += 1
            if want <= copied:
                break
        if want > copied:
            return False
        joined = bytearray(b"".join(self.elems[i:last]))
        self.elems[i:last] = [joined]
        self._show(joined, start - offset, start - offset + end - start)
        return True

    def push(self, start: int, length: int) -> bool:
        i, offset, elen = self.locate(start)
        if start > offset + elen:
            return False
        space = MAX_MSG_FRAGS - len(self.elems)
        new = bytearray(length)
        if self.elems and (not space or (space == 1 and start != offset)):
            j = min(i, len(self.elems) - 1)
            front = start - offset
            old = self.elems[j]
            self.elems[j] = bytearray(old[:front]) + new + old[front:]
        elif start != offset and self.elems:
            j = min(i, len(self.elems) - 1)
            old, front = self.elems[j], start - offset
            parts = [bytearray(old[:front]), new] + ([bytearray(old[front:])]
                                                     if front < len(old) else [])
            self.elems[j:j + 1] = parts
        else:
            self.elems.insert(i, new)
        self.point_at_first()
        return True

    def pop(self, start: int, length: int) -> bool:
        i, offset, elen = self.locate(start)
        if i == len(self.elems) or start >= offset + elen or start + length > self.size:
            return False
        space = MAX_MSG_FRAGS - len(self.elems)
        left = length
        if start != offset:
            a = start - offset
            elem = self.elems[i]
            if left < len(elem) - a:
                rest = elem[a + left:]
                if space:
                    self.elems[i:i + 1] = [bytearray(elem[:a]), bytearray(rest)]
                else:
                    self.elems[i] = bytearray(elem[:a]) + rest
                left = 0
            else:
                left -= len(elem) - a
                del elem[a:]
            i += 1
        while left:
            elem = self.elems[i]
            if left < len(elem):
                del elem[:left]
                left = 0
            else:
                left -= len(elem)
                del self.elems[i]
        self.point_at_first()
        return True

    def finish(self) -> tuple[bytes, bytes | None]:
        return b"".join(self.elems), (bytes(self.buf) if self.ctx_in is not None else None)


__all__ = ["MAX_MSG_FRAGS", "SkMsgContext"]
