#!/usr/bin/env python3
"""Generate src/ebpf/toolchain/include/bpf/bpf_helper_defs.h from the kernel UAPI.

The helper ids come from ``__BPF_FUNC_MAPPER`` in ``linux/bpf.h`` (both the old
``FN(name)`` and the newer ``FN(name, id, ...)`` forms); the prototypes from the
helper documentation block in the same header. Kernel-internal types in the
prototypes are rewritten to the types BPF programs see (``struct sk_buff`` →
``struct __sk_buff``, ``struct bpf_map *`` → ``void *``, ``u32`` → ``__u32``, ``size_t`` → ``unsigned long`` ...).

    python tools/gen_helpers.py [--bpf-h /usr/include/linux/bpf.h] [--check]

``--check`` exits 1 when the committed header differs from what would be generated.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "ebpf" / "toolchain" / "include" / "bpf" / "bpf_helper_defs.h"

#: helpers added after the UAPI header the generator may be run against (facts from
#: later kernels: id, return type, name, parameters); used only when missing there.
LATER_HELPERS = [
    (210, "void *bpf_cgrp_storage_get(struct bpf_map *map, struct cgroup *cgroup, "
          "void *value, u64 flags)"),
    (211, "long bpf_cgrp_storage_delete(struct bpf_map *map, struct cgroup *cgroup)"),
]

#: kernel-internal struct → the context struct a BPF program is given
STRUCT_RENAMES = {
    "sk_buff": "__sk_buff",
    "sk_msg_buff": "sk_msg_md",
    "xdp_buff": "xdp_md",
}

#: kernel integer types → UAPI ones
INT_RENAMES = {t: f"__{t}" for t in ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64")}

_PROTO_RE = re.compile(r"^ \* ((?:[a-z_][\w ]*?[\s*]+)(bpf_\w+)\((.*)\))\s*$")


def parse_ids(text: str) -> dict[str, int]:
    """Helper name (without ``bpf_``) → id, from the ``FN(...)`` mapper list."""
    body = text[text.index("__BPF_FUNC_MAPPER"):]
    entries = re.findall(r"\bFN\(\s*(\w+)\s*(?:,\s*(\d+)\s*)?[,)]", body)
    ids: dict[str, int] = {}
    for i, (name, explicit) in enumerate(entries):
        if name == "x" or name in ids:  # the macro's own parameter, or a repeat
            continue
        ids[name] = int(explicit) if explicit else i
    return ids


def parse_protos(text: str) -> dict[str, str]:
    """``bpf_name`` → its documented prototype, from the helper description block.

    A helper documented several times for different program contexts (such as
    ``bpf_get_socket_cookie``) gets ``void *`` for each parameter whose type
    differs between the versions, so every context type can be passed."""
    start = text.index("Start of BPF helper function descriptions")
    end = text.index("*/", start)
    versions: dict[str, list[str]] = {}
    for line in text[start:end].splitlines():
        m = _PROTO_RE.match(line)
        if m:
            versions.setdefault(m.group(2), []).append(m.group(1))
    return {name: _merge_overloads(protos) for name, protos in versions.items()}


def _merge_overloads(protos: list[str]) -> str:
    if len(protos) == 1:
        return protos[0]
    split = [re.match(r"^(.*?)(bpf_\w+)\((.*)\)$", p.strip()).groups() for p in protos]
    ret, name, first = split[0]
    lists = [[a.strip() for a in params.split(",")] for _, _, params in split]
    if any(len(ps) != len(lists[0]) for ps in lists):
        return protos[0]
    params = []
    for i, p in enumerate(lists[0]):
        if all(_split_decl(ps[i])[0].split() == _split_decl(p)[0].split() for ps in lists):
            params.append(p)
        else:
            params.append(f"void *{'ctx' if i == 0 else _split_decl(p)[1]}")
    return f"{ret}{name}({', '.join(params)})"


def _convert_type(t: str) -> str:
    t = re.sub(r"\bstruct\s+bpf_map\s*\*", "void *", t)
    t = re.sub(r"\bstruct\s+(\w+)", lambda m: f"struct {STRUCT_RENAMES.get(m.group(1), m.group(1))}", t)
    t = re.sub(r"\b([us](?:8|16|32|64))\b", lambda m: INT_RENAMES[m.group(1)], t)
    t = re.sub(r"\bsize_t\b", "unsigned long", t)  # no <stddef.h> in BPF programs
    return re.sub(r"\s+", " ", t).strip()


def _split_decl(decl: str) -> tuple[str, str]:
    """``const void *key`` → (``const void *``, ``key``)."""
    m = re.match(r"^(.*?)(\w+)\s*$", decl)
    if not m or not m.group(1).strip():
        return decl, ""
    return m.group(1), m.group(2)


def render_helper(proto: str, helper_id: int) -> tuple[str, set[str]]:
    """One ``static <ret> (* const bpf_x)(<params>) = (void *) <id>;`` line and the
    struct names it mentions (they need forward declarations)."""
    m = re.match(r"^(.*?)(bpf_\w+)\((.*)\)$", proto.strip())
    assert m, proto
    ret, name, params = m.groups()
    ret = _convert_type(ret)
    out_params = []
    for p in [p.strip() for p in params.split(",")] if params.strip() else []:
        if p in ("...", "void"):
            out_params.append(p)
            continue
        ptype, pname = _split_decl(p)
        ptype = _convert_type(ptype)
        sep = "" if ptype.endswith("*") else " "
        out_params.append(f"{ptype}{sep}{pname}")
    structs = set(re.findall(r"\bstruct (\w+)", ret + " " + " ".join(out_params)))
    ret_sep = "" if ret.endswith("*") else " "
    plist = ", ".join(out_params) or "void"
    line = f"static {ret}{ret_sep}(* const {name})({plist}) = (void *) {helper_id};"
    return line, structs


def render_helper_attr(proto: str, helper_id: int) -> str:
    """The same helper as a declaration with GCC's ``kernel_helper`` attribute."""
    line, _ = render_helper(proto, helper_id)
    m = re.match(r"^static (.*?)\(\* const (bpf_\w+)\)\((.*)\) = \(void \*\) \d+;$", line)
    ret, name, plist = m.groups()
    return f"{ret}{name}({plist}) __attribute__((kernel_helper({helper_id})));"


def generate(bpf_h: Path) -> str:
    text = bpf_h.read_text()
    ids = parse_ids(text)
    protos = parse_protos(text)
    for helper_id, proto in LATER_HELPERS:
        name = re.search(r"(bpf_\w+)\(", proto).group(1)
        if name not in protos and name[4:] not in ids:
            protos[name] = proto
            ids[name[4:]] = helper_id
    lines: list[tuple[int, str, str]] = []
    structs: set[str] = set()
    for name, proto in protos.items():
        helper_id = ids.get(name[4:])
        if helper_id is None:
            continue
        line, used = render_helper(proto, helper_id)
        structs |= used
        lines.append((helper_id, line, render_helper_attr(proto, helper_id)))
    lines.sort()
    out = [
        "/* SPDX-License-Identifier: Apache-2.0 */",
        "/* Generated by tools/gen_helpers.py from linux/bpf.h: do not edit. */",
        "/* Each BPF helper as a constant function pointer whose value is the helper id:",
        " * a call through it compiles to the BPF `call <id>` instruction. */",
        "#ifndef __EBPF_BPF_HELPER_DEFS_H",
        "#define __EBPF_BPF_HELPER_DEFS_H",
        "",
    ]
    out += [f"struct {s};" for s in sorted(structs)]
    out += ["",
            "/* GCC before 13 only turns calls into helper calls through its",
            " * kernel_helper attribute; everything else uses constant pointers. */",
            "#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13",
            ""]
    out += [attr for _, _, attr in lines]
    out += ["", "#else", ""]
    for helper_id, line, _ in lines:
        out.append(f"/* helper {helper_id} */")
        out.append(line)
    out += ["", "#endif", "", "#endif /* __EBPF_BPF_HELPER_DEFS_H */", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bpf-h", type=Path, default=Path("/usr/include/linux/bpf.h"))
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument("--check", action="store_true", help="fail if the output is out of date")
    args = ap.parse_args(argv)
    text = generate(args.bpf_h)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is out of date; run tools/gen_helpers.py\n")
            return 1
        return 0
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
