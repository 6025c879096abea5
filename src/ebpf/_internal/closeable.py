"""Objects that own what the OS hands out (file descriptors, mappings, tracefs
instances): ``with`` closes them, and :class:`ClosedWhenCollected` objects are
also closed, as a last resort, when garbage collected.

>>> class Thing(Closeable):
...     closed = False
...     def close(self) -> None:
...         self.closed = True
>>> with Thing() as t:
...     pass
>>> t.closed
True
"""

from __future__ import annotations

from typing import Self


class Closeable:
    """``close()`` (idempotent, defined by the subclass) on leaving a ``with`` block."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ClosedWhenCollected(Closeable):
    """A :class:`Closeable` also closed when garbage collected (never raising there)."""

    __slots__ = ()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass
