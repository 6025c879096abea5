"""Many ring-buffer records at once: :class:`RecordBatch`.

``RingBuffer.read_batch()`` takes every record available in one step: the bytes
between the consumer and the producer are copied out once, and the batch is that
buffer plus where each record sits in it. Records are handed out as zero-copy
``memoryview`` slices of the buffer; fixed-layout records turn into a NumPy
structured array that *is* the buffer (no copy, NumPy is optional) or into a list of
(named) tuples through one ``struct`` format.

>>> import struct
>>> data = b"".join(struct.pack("<II", 8, 0) + struct.pack("<Q", i) for i in range(3))
>>> b = RecordBatch(data, range(8, 48, 16), 8)
>>> len(b), bytes(b[2]), b.record_size
(3, b'\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00', 8)
>>> b.tuples("<Q")
[(0,), (1,), (2,)]
>>> [r.seq for r in b.tuples("<Q", names="seq")]
[0, 1, 2]
"""

from __future__ import annotations

import struct
from collections import namedtuple
from collections.abc import Iterator, Sequence
from typing import Any, overload

from .errors import MapError


class RecordBatch(Sequence[memoryview]):
    """Records that share one buffer.

    ``data`` holds them; ``starts[i]`` is where record ``i`` begins and ``lengths``
    is its length (one int when every record has the same length). When records
    also sit at a fixed distance from each other (``stride``), :meth:`numpy` and
    :meth:`tuples` work on the whole buffer in one call.
    """

    __slots__ = ("data", "starts", "lengths", "_view")

    def __init__(self, data: bytes, starts: Sequence[int], lengths: Sequence[int] | int) -> None:
        self.data = data
        self.starts = starts
        self.lengths = lengths
        self._view = memoryview(data)

    @classmethod
    def from_records(cls, records: Sequence[bytes]) -> RecordBatch:
        """A batch holding copies of ``records`` (for sources without a native batch)."""
        starts: list[int] = []
        lengths: list[int] = []
        pos = 0
        for r in records:
            starts.append(pos)
            lengths.append(len(r))
            pos += len(r)
        uniform: Sequence[int] | int = lengths
        if lengths and lengths.count(lengths[0]) == len(lengths):
            uniform = lengths[0]
        return cls(b"".join(records), starts, uniform)

    # ---- sequence -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, i: int) -> memoryview: ...

    @overload
    def __getitem__(self, i: slice) -> list[memoryview]: ...

    def __getitem__(self, i: int | slice) -> memoryview | list[memoryview]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        s = self.starts[i]
        n = self.lengths if isinstance(self.lengths, int) else self.lengths[i]
        return self._view[s:s + n]

    def __iter__(self) -> Iterator[memoryview]:
        view = self._view
        if isinstance(self.lengths, int):
            n = self.lengths
            return (view[s:s + n] for s in self.starts)
        return (view[s:s + n] for s, n in zip(self.starts, self.lengths, strict=True))

    def __repr__(self) -> str:
        size = f"{self.record_size}-byte" if self.record_size is not None else "mixed-size"
        return f"<RecordBatch of {len(self)} {size} records>"

    # ---- layout -----------------------------------------------------------------
    @property
    def record_size(self) -> int | None:
        """The length every record has, or None when lengths differ."""
        return self.lengths if isinstance(self.lengths, int) else None

    @property
    def stride(self) -> int | None:
        """The fixed distance between record starts, or None."""
        st = self.starts
        if isinstance(st, range):
            return st.step if len(st) > 1 else (self.record_size or 0) or None
        if len(st) < 2:
            return self.record_size
        step = st[1] - st[0]
        return step if all(b - a == step for a, b in zip(st, st[1:], strict=False)) else None

    def tolist(self) -> list[bytes]:
        """Every record as its own ``bytes``."""
        data = self.data
        if isinstance(self.lengths, int):
            n = self.lengths
            return [data[s:s + n] for s in self.starts]
        return [data[s:s + n] for s, n in zip(self.starts, self.lengths, strict=True)]

    # ---- fixed layouts ------------------------------------------------------------
    def _fixed(self, size: int, what: str) -> tuple[int, int]:
        """(first start, stride) for records read as ``size``-byte items."""
        rs, stride = self.record_size, self.stride
        if rs is None or stride is None:
            raise MapError(f"{what}: records differ in length or spacing; use iteration")
        if size > rs:
            raise MapError(f"{what}: {size}-byte items do not fit {rs}-byte records")
        return (self.starts[0] if len(self) else 0), stride

    def tuples(self, fmt: str | struct.Struct, names: str | Sequence[str] | None = None
               ) -> list[tuple[Any, ...]]:
        """Every record unpacked with one ``struct`` format (a prefix of the record);
        with ``names``, as named tuples (``"pid comm"`` or a list of field names)."""
        st = fmt if isinstance(fmt, struct.Struct) else struct.Struct(fmt)
        if not len(self):
            return []
        first, stride = self._fixed(st.size, "tuples")
        n = len(self)
        body = st.format.lstrip("<>!=@")
        order = st.format[:1] if st.format[:1] in ("<", ">", "!", "=", "@") else "@"
        # every record but the last through one iter_unpack over the buffer (the
        # format skips to the next record); the last may end the buffer
        rows: list[tuple[Any, ...]] = []
        if n > 1:
            step = struct.Struct(f"{order}{body}{stride - st.size}x")
            if step.size == stride:
                rows = list(step.iter_unpack(self._view[first:first + stride * (n - 1)]))
            else:  # native alignment padded the format: one record at a time
                rows = [st.unpack_from(self.data, s) for s in self.starts[:-1]]
        rows.append(st.unpack_from(self.data, self.starts[n - 1]))
        if names is None:
            return rows
        nt = namedtuple("Record", names)  # type: ignore[misc]
        return list(map(nt._make, rows))

    def numpy(self, dtype: Any) -> Any:
        """The records as a NumPy structured array of ``dtype`` (a NumPy dtype, or a
        ``ctypes.Structure`` class), sharing this batch's buffer (no copy)."""
        try:
            import numpy as np
        except ImportError as e:
            raise MapError("RecordBatch.numpy needs NumPy (pip install numpy)") from e
        dt = np.dtype(dtype)
        if not len(self):
            return np.zeros(0, dtype=dt)
        first, stride = self._fixed(dt.itemsize, "numpy")
        return np.ndarray(shape=(len(self),), dtype=dt, buffer=self.data, offset=first,
                          strides=(stride,))


__all__ = ["RecordBatch"]
