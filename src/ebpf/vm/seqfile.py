"""The output of an iterator program: :class:`SeqFile`, the runtime's ``seq_file``.

An iterator program (``SEC("iter/task")`` and the like) is handed ``struct
bpf_iter_meta`` (``seq``, ``session_id``, ``seq_num``) in its context and writes its
output with ``bpf_seq_write``, ``bpf_seq_printf`` and ``bpf_seq_printf_btf``. The
kernel runs it when user space reads the iterator's fd; the runtime runs it when
Python calls it, with a :class:`SeqFile` standing for the seq_file:

>>> from ebpf.vm.seqfile import SeqFile
>>> seq = SeqFile()
>>> seq.write(b"pid 1\\n"), seq.text
(0, 'pid 1\\n')

``prog.run([seq.meta, obj_ptr])`` runs an iterator program on one object
(``seq.seq_num`` counts the objects shown); ``seq.data`` is what it wrote. As the
kernel's, the buffer holds 8 pages: a write that does not fit fails
(``-EOVERFLOW``) and marks the buffer overflowed.
"""

from __future__ import annotations

import struct

from .memory import GLOBAL, Handles

#: the buffer of a bpf_iter seq_file (PAGE_SIZE << 3)
SEQ_BUFFER_SIZE = 8 * 4096
#: where seq_file handles live (fake kernel pointers)
SEQ_HANDLE_BASE = 0xFFFF_8882_0000_0000
#: the runtime's seq_file handles
SEQ_HANDLES = Handles(SEQ_HANDLE_BASE)


class SeqFile:
    """A seq_file: the buffer an iterator program writes, and its ``bpf_iter_meta``."""

    def __init__(self, size: int = SEQ_BUFFER_SIZE, session_id: int = 0):
        self.size = size
        self.buf = bytearray()
        self.overflowed = False
        self.handle = SEQ_HANDLES.register(self)
        self._meta = bytearray(24)
        self._region = GLOBAL.allocate(self._meta, "bpf_iter_meta", writable=False)
        struct.pack_into("<QQQ", self._meta, 0, self.handle, session_id, 0)

    @property
    def meta(self) -> int:
        """The address of the ``struct bpf_iter_meta`` to put in the program's context."""
        return self._region.base

    @property
    def seq_num(self) -> int:
        return struct.unpack_from("<Q", self._meta, 16)[0]

    @seq_num.setter
    def seq_num(self, n: int) -> None:
        struct.pack_into("<Q", self._meta, 16, n)

    def write(self, data: bytes) -> int:
        """Append ``data`` (seq_write): 0, or -1 once it does not fit (overflowed)."""
        if self.overflowed or len(self.buf) + len(data) >= self.size:
            self.overflowed = True
            return -1
        self.buf += data
        return 0

    @property
    def data(self) -> bytes:
        return bytes(self.buf)

    @property
    def text(self) -> str:
        return self.buf.decode(errors="replace")

    def close(self) -> None:
        SEQ_HANDLES.unregister(self.handle)
        GLOBAL.free(self._region)

    def __enter__(self) -> SeqFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SEQ_BUFFER_SIZE", "SeqFile"]
