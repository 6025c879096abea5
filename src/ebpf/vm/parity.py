"""What the runtime has of what the kernel's UAPI names: every helper, map type and
program type of ``ebpf.uapi`` (generated from ``linux/bpf.h``), and every kfunc the
runtime provides, with its status here. ``docs/parity.md`` is :func:`markdown`'s
output (``python tools/gen_parity.py`` writes it; a test keeps it current), so the
table is read off the code and a new UAPI name cannot go unnoticed.

>>> rows = helper_rows()
>>> rows[0][:2]
(1, 'map_lookup_elem')
>>> summary()["helpers"][0] > 50
True
"""

from __future__ import annotations

from ..uapi import HelperId, MapType, ProgramType

#: where ``docs/parity.md`` stops being generated: what follows is written by hand
#: (the sweep's method and numbers) and ``tools/gen_parity.py`` keeps it
HAND_WRITTEN = "<!-- written by hand below; tools/gen_parity.py keeps it -->"


def helper_rows() -> list[tuple[int, str, bool]]:
    """(id, name, the vm has it) for every helper of the UAPI, by id."""
    from .helpers import HELPERS

    return [(int(h), h.name.lower(), int(h) in HELPERS) for h in sorted(HelperId)
            if int(h) != 0]


def map_rows() -> list[tuple[int, str, str | None]]:
    """(id, name, the vm's class or None) for every map type of the UAPI."""
    from .maps.create import _TYPES

    return [(int(t), t.name, _TYPES[t].__name__ if t in _TYPES else None)
            for t in sorted(MapType) if t != MapType.UNSPEC]


def program_rows() -> list[tuple[int, str, str]]:
    """(id, name, the context a vm program of the type gets) for every program type."""
    from .contexts import context_kind

    return [(int(p), p.name, context_kind(p)) for p in sorted(ProgramType)
            if p != ProgramType.UNSPEC]


def kfunc_names() -> list[str]:
    """The kfuncs the vm provides."""
    from .helpers import KFUNCS

    return sorted(KFUNCS)


def summary() -> dict[str, tuple[int, int]]:
    """(the vm has, the UAPI names) for helpers and map types."""
    h = helper_rows()
    m = map_rows()
    return {"helpers": (sum(1 for *_, ok in h if ok), len(h)),
            "map types": (sum(1 for *_, c in m if c), len(m))}


def markdown() -> str:
    """The parity table as Markdown (``docs/parity.md``)."""
    s = summary()
    out = [
        "# Runtime parity: what the vm has of the kernel's UAPI",
        "",
        "Generated from the code by `python tools/gen_parity.py` (`ebpf.vm.parity`); "
        "a test fails when this page and the code disagree. Names are those of "
        "`linux/bpf.h` as `ebpf.uapi` has them. How each helper behaves, and where "
        "it models the host, is in [vm.md](vm.md).",
        "",
        f"- helpers: {s['helpers'][0]} of {s['helpers'][1]}",
        f"- map types: {s['map types'][0]} of {s['map types'][1]}",
        f"- kfuncs the vm provides: {len(kfunc_names())}",
        "",
        "## Map types",
        "",
        "| id | map type | vm |",
        "|---:|---|---|",
    ]
    for i, name, cls in map_rows():
        status = f"yes (`{cls}`)" if cls else "no: creating one raises NotSupportedError"
        out.append(f"| {i} | `{name}` | {status} |")
    out += ["", "## Program types", "",
            "The context a vm program of each type is given when it runs.", "",
            "| id | program type | context in the vm |", "|---:|---|---|"]
    for i, name, kind in program_rows():
        out.append(f"| {i} | `{name}` | {kind} |")
    out += ["", "## Helpers", "", "| id | helper | vm |", "|---:|---|---|"]
    for i, name, ok in helper_rows():
        out.append(f"| {i} | `bpf_{name}` | {'yes' if ok else 'no: refused at load'} |")
    out += ["", "## kfuncs", "", ", ".join(f"`{k}`" for k in kfunc_names()), ""]
    return "\n".join(out)


__all__ = ["helper_rows", "kfunc_names", "map_rows", "markdown", "program_rows", "summary"]
