"""Which programs of an object load, and in what order, the same for every backend.

As libbpf: a program whose ``ProgramSpec.autoload`` is False (``SEC("?...")``
or set by the caller) is not loaded; ``programs=[names]`` says exactly which to
load instead, autoload or not, and naming a program the object lacks is an
error. freplace (EXT) programs load last: their target may be a program of the
same object.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import LoadError
from ..spec import ObjectSpec
from ..uapi import ProgramType

log = logging.getLogger("ebpf.loader")

__all__ = ["Selection", "select_programs"]


@dataclass
class Selection:
    """The programs to load, in load order, and the ones left out."""

    order: list[str] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)


def select_programs(spec: ObjectSpec, programs: Sequence[str] | None = None) -> Selection:
    """The :class:`Selection` for ``spec`` and the ``programs=`` load option."""
    if programs is not None:
        missing = [n for n in programs if n not in spec.programs]
        if missing:
            raise LoadError(f"programs={list(programs)!r}: no program named "
                            f"{', '.join(map(repr, missing))} in the object")
    sel = Selection()
    for name, ps in spec.programs.items():
        if programs is not None and name not in programs:
            sel.skipped.add(name)
        elif programs is None and not ps.autoload:
            log.debug("%s: program %s not loaded (autoload is off)", spec.path or "object", name)
            sel.skipped.add(name)
        else:
            sel.order.append(name)
    sel.order.sort(key=lambda n: spec.programs[n].type == ProgramType.EXT)
    return sel
