#!/usr/bin/env python3
"""Generate the ``ebpf.uapi`` package: the kernel facts the kernel already describes.

Outputs (each GENERATED, committed, imported without parsing anything):

* ``src/ebpf/uapi/__init__.py`` -- the enums of linux/bpf.h (commands, map, program,
  attach and link types);
* ``src/ebpf/uapi/helpers.py`` -- ``HelperId`` (helper ids), imported on first use;
* ``src/ebpf/uapi/consts.py`` -- flag enums and numeric ``#define``s (``BPF_F_*``,
  ``XDP_FLAGS_*``, ``PERF_*``, ...);
* ``src/ebpf/uapi/structs.py`` -- ctypes layouts of every ``union bpf_attr`` member
  (one per command family), the info structs and ``perf_event_attr``;
* ``src/ebpf/uapi/contexts.py`` -- program context layouts (``__sk_buff``, ``xdp_md``,
  ``pt_regs``, ...) as plain offset tables.

Sources, in order (a later one adds names the earlier lack, never changes a value):

1. the UAPI headers (default /usr/include/linux/bpf.h and its siblings
   perf_event.h, if_link.h, magic.h): enums and ``#define`` constants;
2. the running kernel's BTF (/sys/kernel/btf/vmlinux): enum values newer than the
   installed header, and every struct layout (bit-exact member offsets, the
   header's own types as the running kernel compiled them).

    python tools/gen_uapi.py [--header PATH] [--no-btf] [-o src/ebpf/uapi]

tests/test_uapi.py fails when a committed file drifts from a fresh generation,
and checks every generated layout member by member against BTF and the header.
"""

from __future__ import annotations

import argparse
import ctypes
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

ENUMS = {
    # python name: (C enum, prefix stripped from member names)
    "Command": ("bpf_cmd", "BPF_"),
    "MapType": ("bpf_map_type", "BPF_MAP_TYPE_"),
    "ProgramType": ("bpf_prog_type", "BPF_PROG_TYPE_"),
    "AttachType": ("bpf_attach_type", "BPF_"),
    "LinkType": ("bpf_link_type", "BPF_LINK_TYPE_"),
}
SKIP = re.compile(r"^(__MAX_|MAX_)|_MAX_|__MAX")

#: named enums copied whole into consts.py: (header, C enum)
CONST_ENUMS = [
    ("bpf.h", "bpf_stats_type"), ("bpf.h", "bpf_task_fd_type"), ("bpf.h", "xdp_action"),
    ("bpf.h", "sk_action"), ("bpf.h", "bpf_adj_room_mode"), ("bpf.h", "bpf_hdr_start_off"),
    ("bpf.h", "bpf_lwt_encap_mode"), ("bpf.h", "bpf_check_mtu_flags"),
    ("bpf.h", "bpf_check_mtu_ret"), ("bpf.h", "bpf_stack_build_id_status"),
    ("bpf.h", "bpf_ret_code"), ("bpf.h", "bpf_perf_event_type"),
    ("bpf.h", "bpf_cgroup_iter_order"),
    ("perf_event.h", "perf_type_id"), ("perf_event.h", "perf_hw_id"),
    ("perf_event.h", "perf_sw_ids"), ("perf_event.h", "perf_event_sample_format"),
    ("perf_event.h", "perf_event_type"),
]
#: anonymous enums and #defines whose names start with one of these go into consts.py
CONST_PREFIXES = [
    # (header, names starting with one of these, what they are)
    ("bpf_common.h", ("BPF_",), "instruction set"),
    ("bpf.h", ("BPF_JMP32", "BPF_ALU64", "BPF_DW", "BPF_ATOMIC", "BPF_XADD", "BPF_MOV",
               "BPF_ARSH", "BPF_END", "BPF_TO_", "BPF_FROM_", "BPF_JNE", "BPF_JLT", "BPF_JLE",
               "BPF_JSGT", "BPF_JSGE", "BPF_JSLT", "BPF_JSLE", "BPF_CALL", "BPF_EXIT",
               "BPF_FETCH", "BPF_XCHG", "BPF_CMPXCHG", "BPF_MEMSX", "BPF_JCOND",
               "BPF_LOAD_ACQ", "BPF_STORE_REL", "BPF_PSEUDO_"), "instruction set"),
    ("bpf.h", ("BPF_F_", "BPF_ANY", "BPF_NOEXIST", "BPF_EXIST", "BPF_RB_",
               "BPF_FIB_", "BPF_OBJ_NAME_LEN", "BPF_TAG_SIZE", "BPF_BUILD_ID_SIZE",
               "BPF_SOCK_OPS_", "BPF_SK_LOOKUP_F_", "BPF_LOCAL_STORAGE_GET_F_",
               "BPF_SK_STORAGE_GET_F_", "BPF_RINGBUF_", "BPF_LOAD_HDR_OPT_",
               "BPF_WRITE_HDR_", "BPF_DEVCG_", "XDP_PACKET_HEADROOM", "BPF_MTU_CHK_",
               "BPF_TCP_"), "flags"),
    ("if_link.h", ("XDP_FLAGS_", "XDP_ATTACHED_"), "flags"),
    ("perf_event.h", ("PERF_FLAG_", "PERF_EVENT_IOC_", "PERF_ATTR_SIZE_"), "flags"),
    ("magic.h", ("BPF_FS_MAGIC", "TRACEFS_MAGIC", "DEBUGFS_MAGIC", "CGROUP2_SUPER_MAGIC"),
     "file system magic numbers"),
    # rtnetlink: attaching XDP and tc programs the legacy way
    ("netlink.h", ("NETLINK_ROUTE", "NLM_F_", "NLMSG_ERROR", "NLMSG_DONE", "NLA_F_NESTED"),
     "netlink"),
    ("rtnetlink.h", ("RTM_", "RTEXT_FILTER_VF", "TCA_KIND", "TCA_OPTIONS"), "netlink"),
    ("if_link.h", ("IFLA_XDP", "IFLA_EXT_MASK"), "netlink"),
    ("pkt_cls.h", ("TCA_BPF_", "TC_ACT_"), "netlink"),
    ("pkt_sched.h", ("TC_H_",), "netlink"),
    ("if_ether.h", ("ETH_P_ALL",), "netlink"),
]

#: #defines newer than the oldest header the generator supports (Debian's 6.1), facts
#: of later linux/bpf.h versions: used only when the header lacks them
LATER_DEFINES = {
    "bpf.h": [("BPF_F_BEFORE", 1 << 3), ("BPF_F_AFTER", 1 << 4), ("BPF_F_ID", 1 << 5),
              ("BPF_MEMSX", 0x80), ("BPF_JCOND", 0xE0), ("BPF_LOAD_ACQ", 0x100),
              ("BPF_STORE_REL", 0x110)],
}

#: union bpf_attr members -> (python name, commands using it); a member is keyed by
#: its own name or, when anonymous, by the name of its first field
ATTRS = {
    "map_type": ("MapCreateAttr", "MAP_CREATE"),
    "map_fd": ("MapElemAttr", "MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, "
               "MAP_GET_NEXT_KEY, MAP_LOOKUP_AND_DELETE_ELEM, MAP_FREEZE"),
    "batch": ("MapBatchAttr", "MAP_LOOKUP_BATCH, MAP_LOOKUP_AND_DELETE_BATCH, "
              "MAP_UPDATE_BATCH, MAP_DELETE_BATCH"),
    "prog_type": ("ProgLoadAttr", "PROG_LOAD"),
    "pathname": ("ObjPinAttr", "OBJ_PIN, OBJ_GET"),
    "target_fd": ("ProgAttachAttr", "PROG_ATTACH, PROG_DETACH"),
    "test": ("ProgTestRunAttr", "PROG_TEST_RUN"),
    "start_id": ("GetIdAttr", "*_GET_NEXT_ID, *_GET_FD_BY_ID"),
    "info": ("InfoAttr", "OBJ_GET_INFO_BY_FD"),
    "query": ("ProgQueryAttr", "PROG_QUERY"),
    "raw_tracepoint": ("RawTracepointOpenAttr", "RAW_TRACEPOINT_OPEN"),
    "btf": ("BtfLoadAttr", "BTF_LOAD"),
    "task_fd_query": ("TaskFdQueryAttr", "TASK_FD_QUERY"),
    "link_create": ("LinkCreateAttr", "LINK_CREATE"),
    "link_update": ("LinkUpdateAttr", "LINK_UPDATE"),
    "link_detach": ("LinkDetachAttr", "LINK_DETACH"),
    "enable_stats": ("EnableStatsAttr", "ENABLE_STATS"),
    "iter_create": ("IterCreateAttr", "ITER_CREATE"),
    "prog_bind_map": ("ProgBindMapAttr", "PROG_BIND_MAP"),
    "token_create": ("TokenCreateAttr", "TOKEN_CREATE"),
    "prog_stream_read": ("ProgStreamReadAttr", "PROG_STREAM_READ_BY_FD"),
}
#: other structs laid out with ctypes: C struct -> python name
STRUCTS = {
    "bpf_prog_info": "ProgInfo", "bpf_map_info": "MapInfo", "bpf_btf_info": "BtfInfo",
    "bpf_link_info": "LinkInfo", "perf_event_attr": "PerfEventAttr",
    "bpf_iter_link_info": "IterLinkInfo", "bpf_line_info": "LineInfo",
    "bpf_func_info": "FuncInfo",
}
#: program contexts (and kernel-internal sizes the vm mirrors): C struct -> python name;
#: a struct's name may be ambiguous in BTF, then the one with ``member`` is taken
CONTEXTS = {
    "__sk_buff": "SK_BUFF", "xdp_md": "XDP_MD", "bpf_sock": "BPF_SOCK",
    "bpf_sock_addr": "BPF_SOCK_ADDR", "sk_msg_md": "SK_MSG_MD", "bpf_sock_ops": "BPF_SOCK_OPS",
    "bpf_sockopt": "BPF_SOCKOPT", "bpf_sysctl": "BPF_SYSCTL", "bpf_flow_keys": "BPF_FLOW_KEYS",
    "bpf_perf_event_data": "BPF_PERF_EVENT_DATA", "sk_reuseport_md": "SK_REUSEPORT_MD",
    "bpf_sk_lookup": "BPF_SK_LOOKUP", "bpf_cgroup_dev_ctx": "BPF_CGROUP_DEV_CTX",
    "bpf_nf_ctx": "BPF_NF_CTX", "bpf_raw_tracepoint_args": "BPF_RAW_TRACEPOINT_ARGS",
    "pt_regs": "PT_REGS",
    # structs helpers read or fill
    "bpf_fib_lookup": "BPF_FIB_LOOKUP", "bpf_stack_build_id": "BPF_STACK_BUILD_ID",
    "bpf_pidns_info": "BPF_PIDNS_INFO", "bpf_sock_tuple": "BPF_SOCK_TUPLE",
    "bpf_tunnel_key": "BPF_TUNNEL_KEY",
    # what a sock_ops context of the vm reads off its real socket (getsockopt TCP_INFO)
    "tcp_info": "TCP_INFO", "bpf_tcp_sock": "BPF_TCP_SOCK",
    # the perf ring's metadata page (data_head / data_tail)
    "perf_event_mmap_page": "PERF_EVENT_MMAP_PAGE",
    # kernel-internal, sizes only matter: the vm mirrors BPF_PROG_TEST_RUN's buffers
    "xdp_frame": "XDP_FRAME", "skb_shared_info": "SKB_SHARED_INFO",
}
CONTEXT_DISAMBIGUATE = {"bpf_sk_lookup": "family"}
SIZE_ONLY = {"xdp_frame", "skb_shared_info"}


# ---- headers ------------------------------------------------------------------------

def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _enum_body_items(body: str, known: dict[str, int]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    nxt = 0
    # rtnetlink.h and friends interleave "#define RTM_NEWLINK RTM_NEWLINK" lines
    body = "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("#"))
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        if "=" in item:
            name, expr = (s.strip() for s in item.split("=", 1))
            val = _eval(expr, known)
            if val is None:
                continue
        else:
            name, val = item, nxt
        known[name] = val
        nxt = val + 1
        out.append((name, val))
    return out


def parse_header_enum(text: str, cname: str) -> list[tuple[str, int]]:
    m = re.search(r"enum\s+" + cname + r"\s*\{(.*?)\};", text, flags=re.S)
    if not m:
        return []
    return _enum_body_items(m.group(1), {})


def parse_anonymous_enums(text: str, known: dict[str, int]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for m in re.finditer(r"enum\s*\{(.*?)\}\s*;", text, flags=re.S):
        out += _enum_body_items(m.group(1), known)
    return out


_IOC_SIZES = {"__u64": 8, "__u32": 4, "char *": 8, "__u64 *": 8}


def _eval(expr: str, known: dict[str, int]) -> int | None:
    """An integer constant expression of a header (numbers, names already known,
    ``<< | + - ~ ( )``, U/L suffixes, _IO/_IOW/_IOR with the generic encoding)."""
    expr = expr.strip()
    m = re.fullmatch(r"_IO(W|R|WR)?\s*\(\s*'(.)'\s*,\s*(\d+)\s*(?:,\s*([^)]*))?\)", expr)
    if m:
        kind, typ, nr, arg = m.groups()
        size = _IOC_SIZES.get((arg or "").strip(), 8 if arg and "*" in arg else 0)
        direction = {None: 0, "W": 1, "R": 2, "WR": 3}[kind]
        return direction << 30 | size << 16 | ord(typ) << 8 | int(nr)
    tokens = re.findall(r"0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|>>|[()|+\-~&]", expr)
    if "".join(tokens) != re.sub(r"\s+", "", expr):
        return None
    py = []
    for tok in tokens:
        if tok[0].isdigit():
            py.append(str(int(tok.rstrip("uUlL"), 0)))
        elif tok[0].isalpha() or tok[0] == "_":
            if tok not in known:
                return None
            py.append(str(known[tok]))
        else:
            py.append(tok)
    try:
        val = eval(" ".join(py), {"__builtins__": {}})  # noqa: S307 - digits and operators only
    except Exception:  # noqa: BLE001
        return None
    return val if isinstance(val, int) else None


def parse_defines(text: str, prefixes: tuple[str, ...], known: dict[str, int]
                  ) -> list[tuple[str, int]]:
    out = []
    for m in re.finditer(r"^#define\s+([A-Z_][A-Z0-9_]*)[ \t]+(.+)$", text, flags=re.M):
        name, expr = m.group(1), m.group(2).strip()
        val = _eval(expr, known)
        if val is None:
            continue
        known[name] = val
        if name.startswith(prefixes):
            out.append((name, val))
    return out


def parse_helpers(text: str) -> list[tuple[str, int]]:
    m = re.search(r"#define ___?BPF_FUNC_MAPPER\(FN(?:, ctx\.\.\.)?\)\s*\\\n(.*?)\n\s*/\*", text, flags=re.S)
    if not m:
        m = re.search(r"#define ___?BPF_FUNC_MAPPER\(FN(?:, ctx\.\.\.)?\)(.*?)\n\n", text, flags=re.S)
    body = m.group(1)
    out = []
    for i, fm in enumerate(re.finditer(r"FN\(\s*(\w+)\s*(?:,\s*(\d+))?", body)):
        out.append((fm.group(1), int(fm.group(2)) if fm.group(2) else i))
    return out


# ---- BTF -----------------------------------------------------------------------------

_SPEC: list[Any] = []


def kernel_btf() -> Any:
    """The running kernel's BTF (read once), or None."""
    if not _SPEC:
        try:
            sys.path.insert(0, str(ROOT / "src"))
            from ebpf import btf  # noqa: PLC0415

            _SPEC.append(btf.load_kernel_btf())
        except Exception:  # noqa: BLE001 - BTF is an optional source for enums
            _SPEC.append(None)
    return _SPEC[0]


def btf_enum(cname: str) -> list[tuple[str, int]]:
    spec = kernel_btf()
    if spec is None:
        return []
    try:
        t = spec.type_by_name(cname, kind="enum")
    except Exception:  # noqa: BLE001
        return []
    return [(v.name, v.value) for v in t.values]


def btf_anonymous_enums(prefixes: tuple[str, ...]) -> list[tuple[str, int]]:
    spec = kernel_btf()
    if spec is None:
        return []
    out = []
    for tid in spec.own_ids():
        if spec.kind_of(tid) in ("enum", "enum64") and not spec.name_of(tid):
            for v in spec[tid].values:
                if v.name.startswith(prefixes):
                    out.append((v.name, v.value))
    return out


def btf_struct(cname: str) -> Any:
    from ebpf.btf import types as T  # noqa: PLC0415

    spec = kernel_btf()
    if spec is None:
        raise SystemExit("struct layouts need the kernel's BTF (/sys/kernel/btf/vmlinux)")
    cands = [t for t in spec.types_by_name(cname) if isinstance(t, T.Composite)]
    want = CONTEXT_DISAMBIGUATE.get(cname)
    if want:
        cands = [t for t in cands if any(m.name == want for m in _flat_members(t))]
    if len(cands) != 1:
        raise SystemExit(f"BTF has {len(cands)} candidates for {cname}")
    return cands[0]


def _flat_members(t: Any, base: int = 0) -> list[Any]:
    """Members of ``t`` with anonymous struct/union members flattened (offsets in bits)."""
    from ebpf.btf import types as T  # noqa: PLC0415

    out = []
    for m in t.members:
        mt = T.resolve(m.type)
        if not m.name and isinstance(mt, T.Composite):
            out += _flat_members(mt, base + m.offset)
        else:
            out.append(T.Member(m.name, m.type, base + m.offset, m.bitfield_size))
    return out


def merge(base: list[tuple[str, int]], extra: list[tuple[str, int]], *,
          by_name_only: bool = False) -> list[tuple[str, int]]:
    names = {n for n, _ in base}
    values = {v for _, v in base}
    out = list(base)
    for n, v in extra:
        if n not in names and (by_name_only or v not in values):
            out.append((n, v))
            names.add(n)
            values.add(v)
    return out if by_name_only else sorted(out, key=lambda nv: nv[1])


# ---- ebpf/uapi/__init__.py -----------------------------------------------------------

def generate_enums(header: Path, use_btf: bool) -> str:
    raw = header.read_text()
    text = _strip_comments(raw)
    lines = [
        '"""Enums of linux/bpf.h. GENERATED by tools/gen_uapi.py: do not edit.',
        "",
        "The package's other modules (also generated): :mod:`ebpf.uapi.consts` (flags and",
        "numbers), :mod:`ebpf.uapi.structs` (ctypes layouts of ``bpf_attr``, the info",
        "structs and ``perf_event_attr``), :mod:`ebpf.uapi.contexts` (program contexts),",
        ":mod:`ebpf.uapi.helpers` (``HelperId``, 200-odd members: made when first asked for,",
        "as ``ebpf.uapi.HelperId``, since building an enum takes time at every start).",
        '"""',
        "",
        "from enum import IntEnum",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:",
        "    from .helpers import HelperId as HelperId",
        "",
    ]
    for pyname, (cname, prefix) in ENUMS.items():
        # the __MAX_* sentinel goes first: its value is a newer kernel's next member
        members = [(n, v) for n, v in parse_header_enum(text, cname) if not SKIP.search(n)]
        if use_btf:
            members = merge(members, btf_enum(cname))
        lines += ["", f"class {pyname}(IntEnum):", f'    """enum {cname}"""', ""]
        for name, val in members:
            if SKIP.search(name):
                continue
            short = name[len(prefix):] if name.startswith(prefix) else name
            lines.append(f"    {short} = {val}")
        lines.append("")
    lines += [
        "",
        "def __getattr__(name: str) -> Any:",
        '    if name == "HelperId":',
        "        from .helpers import HelperId",
        "",
        "        return HelperId",
        '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
    ]
    return "\n".join(lines) + "\n"


def generate_helpers(header: Path, use_btf: bool) -> str:
    raw = header.read_text()
    helpers = parse_helpers(raw)
    if use_btf:
        extra = [(n[len("BPF_FUNC_"):], v) for n, v in btf_enum("bpf_func_id")
                 if n.startswith("BPF_FUNC_")]
        helpers = merge(helpers, extra)
    lines = ['"""enum bpf_func_id of linux/bpf.h. GENERATED by tools/gen_uapi.py: do not edit.',
             "",
             "Imported as ``ebpf.uapi.HelperId``.",
             '"""',
             "",
             "from enum import IntEnum",
             "",
             "",
             "class HelperId(IntEnum):", '    """enum bpf_func_id (BPF_FUNC_*)"""', ""]
    for name, val in helpers:
        if name.startswith("__") or name.upper().startswith("MAX"):
            continue
        lines.append(f"    {name} = {val}")
    return "\n".join(lines) + "\n"


# kept for callers of the one-module generator
generate = generate_enums


# ---- ebpf/uapi/consts.py -------------------------------------------------------------

def generate_consts(header: Path, use_btf: bool) -> str:
    incdir = header.parent
    texts = {}
    for name in {h for h, _p, _t in CONST_PREFIXES} | {h for h, _e in CONST_ENUMS}:
        p = header if name == "bpf.h" else incdir / name
        texts[name] = _strip_comments(p.read_text()) if p.exists() else ""
    lines = ['"""Flags and numbers of the kernel UAPI (linux/bpf.h, bpf_common.h, perf_event.h,',
             "if_link.h, magic.h, and the rtnetlink headers; newer values from the kernel's BTF).",
             "GENERATED by tools/gen_uapi.py: do not edit.",
             '"""', ""]
    seen: dict[str, int] = {}

    def emit(title: str, items: list[tuple[str, int]]) -> None:
        fresh = [(n, v) for n, v in items if n not in seen and not SKIP.search(n)
                 and not n.startswith("__") and not n.endswith("_MAX")]
        if not fresh:
            return
        lines.append(f"# {title}")
        for n, v in fresh:
            seen[n] = v
            lines.append(f"{n} = {v:#x}" if v > 0xFFFF else f"{n} = {v}")
        lines.append("")

    for hname, cname in CONST_ENUMS:
        items = parse_header_enum(texts[hname], cname)
        if use_btf:
            items = merge(items, btf_enum(cname), by_name_only=True)
        emit(f"enum {cname} ({hname})", items)
    for hname, prefixes, title in CONST_PREFIXES:
        known: dict[str, int] = {}
        defines = parse_defines(texts[hname], prefixes, known)
        later = [(n, v) for n, v in LATER_DEFINES.get(hname, []) if n.startswith(prefixes)]
        defines = merge(defines, later, by_name_only=True)
        emit(f"{title}: #define ({hname})", defines)
        anon = [(n, v) for n, v in parse_anonymous_enums(texts[hname], known)
                if n.startswith(prefixes)]
        from_btf = use_btf and title == "flags"  # kernel-internal enums share the BPF_ prefix
        if from_btf:
            anon = merge(anon, btf_anonymous_enums(prefixes), by_name_only=True)
        emit(f"{title}: anonymous enums ({hname}{', kernel BTF' if from_btf else ''})", anon)
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- ebpf/uapi/structs.py ------------------------------------------------------------

_CT = {(1, False): "_u8", (2, False): "_u16", (4, False): "_u32", (8, False): "_u64",
       (1, True): "_s8", (2, True): "_s16", (4, True): "_s32", (8, True): "_s64"}
_CT_REAL = {"_u8": ctypes.c_uint8, "_u16": ctypes.c_uint16, "_u32": ctypes.c_uint32,
            "_u64": ctypes.c_uint64, "_s8": ctypes.c_int8, "_s16": ctypes.c_int16,
            "_s32": ctypes.c_int32, "_s64": ctypes.c_int64, "_char": ctypes.c_char}


class _Emitter:
    """Writes ctypes class definitions and builds the same classes live, so padding
    is inserted exactly where natural ctypes alignment differs from BTF's offsets."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.live: dict[str, Any] = dict(_CT_REAL)

    def scalar(self, t: Any) -> tuple[str, Any]:
        from ebpf.btf import types as T  # noqa: PLC0415

        t = T.resolve(t)
        if isinstance(t, T.Int):
            key = _CT[(t.size, t.signed and not t.is_char)]
            return key, self.live[key]
        if isinstance(t, T.Enum):
            key = _CT[(t.size, bool(t.signed))]
            return key, self.live[key]
        if isinstance(t, T.Pointer):
            return "_u64", ctypes.c_uint64
        raise SystemExit(f"no ctypes type for {t!r}")

    def ctype(self, t: Any, path: str) -> tuple[str, Any]:
        from ebpf.btf import types as T  # noqa: PLC0415

        t = T.resolve(t)
        if isinstance(t, T.Array):
            el = T.resolve(t.type)
            if isinstance(el, T.Int) and (el.is_char or el.name == "char"):
                src, real = "_char", ctypes.c_char
            else:
                src, real = self.ctype(el, path)
            return f"{src} * {t.nelems}", real * t.nelems
        if isinstance(t, T.Composite):
            return self.composite(path, t)
        return self.scalar(t)

    def composite(self, pyname: str, t: Any, base: str | None = None, doc: str = "") -> tuple[str, Any]:
        from ebpf.btf import types as T  # noqa: PLC0415

        is_union = isinstance(t, T.Union)
        base = base or ("ctypes.Union" if is_union else "ctypes.Structure")
        fields: list[tuple[str, str, Any, int]] = []   # (name, src, real, bits)
        anonymous: list[str] = []
        real_fields: list[tuple] = []
        nanon = npad = 0

        def probe() -> Any:
            return type("_probe", (ctypes.Union if is_union else ctypes.Structure,),
                        {"_fields_": list(real_fields)})

        def live_size() -> int:
            return ctypes.sizeof(probe())

        def live_end() -> int:
            cls = probe()
            return max(getattr(cls, f[0]).offset + ctypes.sizeof(f[1]) for f in real_fields)

        for m in t.members:
            mt = T.resolve(m.type)
            name = m.name
            if not name:
                if isinstance(mt, T.Composite):
                    name = f"_{nanon}"
                    nanon += 1
                    anonymous.append(name)
                else:
                    name = f"_bits{nanon}"
                    nanon += 1
            off = m.offset // 8
            if not is_union and not m.bitfield_size:
                prev_end = live_end() if real_fields else 0
                src, real = self.ctype(mt, f"_{pyname.lstrip('_')}_{name.lstrip('_')}")
                align = ctypes.alignment(real)
                natural = -(-prev_end // align) * align
                if natural != off:
                    pad = off - prev_end
                    pname = f"_pad{npad}"
                    npad += 1
                    fields.append((pname, f"_u8 * {pad}", ctypes.c_uint8 * pad, 0))
                    real_fields.append((pname, ctypes.c_uint8 * pad))
            else:
                src, real = self.ctype(mt, f"_{pyname.lstrip('_')}_{name.lstrip('_')}")
            if m.bitfield_size:
                fields.append((name, src, real, m.bitfield_size))
                real_fields.append((name, real, m.bitfield_size))
            else:
                fields.append((name, src, real, 0))
                real_fields.append((name, real))
        size = live_size() if real_fields else 0
        if size < t.size:
            pad = t.size - size if not is_union else t.size
            pname = "_raw" if is_union else f"_pad{npad}"
            fields.append((pname, f"_u8 * {pad}", ctypes.c_uint8 * pad, 0))
            real_fields.append((pname, ctypes.c_uint8 * pad))
        attrs: dict[str, Any] = {"_fields_": real_fields}
        if anonymous:
            attrs["_anonymous_"] = tuple(anonymous)
        real_base = self.live.get(base) or (ctypes.Union if is_union else ctypes.Structure)
        cls = type(pyname, (real_base,), attrs)
        if ctypes.sizeof(cls) != t.size:
            raise SystemExit(f"{pyname}: ctypes size {ctypes.sizeof(cls)} != BTF {t.size}")
        self.live[pyname] = cls
        out = ["", "", f"class {pyname}({base}):"]
        if doc:
            out.append(f'    """{textwrap.fill(doc, 88, subsequent_indent="    ")}"""')
            out.append("")
        if anonymous:
            out.append(f"    _anonymous_ = {tuple(anonymous)!r}")
        out.append("    _fields_ = [")
        for name, src, _real, bits in fields:
            out.append(f'        ("{name}", {src}, {bits}),' if bits else f'        ("{name}", {src}),')
        out.append("    ]")
        self.lines += out
        return pyname, cls


def _attr_key(m: Any) -> str:
    from ebpf.btf import types as T  # noqa: PLC0415

    if m.name:
        return m.name
    first = _flat_members(T.resolve(m.type))[0]
    return first.name


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_")) + "Attr"


def generate_structs(header: Path, use_btf: bool = True) -> tuple[str, dict[str, Any]]:
    """The text of structs.py and the live classes it defines (by name)."""
    from ebpf.btf import types as T  # noqa: PLC0415

    em = _Emitter()
    em.live["_Attr"] = type("_Attr", (ctypes.Structure,), {})
    attr = btf_struct("bpf_attr")
    table = []
    for m in attr.members:
        key = _attr_key(m)
        pyname, cmds = ATTRS.get(key, (_camel(key), key.upper()))
        em.composite(pyname, T.resolve(m.type), "_Attr", f"union bpf_attr member for {cmds}.")
        table.append(pyname)
    for cname, pyname in STRUCTS.items():
        t = btf_struct(cname)
        union = isinstance(t, T.Union)
        em.composite(pyname, t, "ctypes.Union" if union else "_Attr",
                     f"{'union' if union else 'struct'} {cname}.")
        table.append(pyname)
    head = [
        '"""ctypes layouts of the members of ``union bpf_attr`` (one per command family),',
        "the info structs and ``perf_event_attr``, from the kernel's BTF.",
        "GENERATED by tools/gen_uapi.py: do not edit.",
        "",
        "Anonymous unions are ``_anonymous_`` fields, so every C name is an attribute",
        "(``MapElemAttr.next_key`` is ``value``, ``LinkCreateAttr.target_ifindex`` is",
        "``target_fd``); named nested members keep their C path (``attr.tracing.cookie``).",
        '"""',
        "",
        "import ctypes",
        "",
        "__all__ = [",
        *(f'    "{n}",' for n in table),
        "]",
        "",
        "_u8 = ctypes.c_uint8",
        "_u16 = ctypes.c_uint16",
        "_u32 = ctypes.c_uint32",
        "_u64 = ctypes.c_uint64",
        "_s8 = ctypes.c_int8",
        "_s16 = ctypes.c_int16",
        "_s32 = ctypes.c_int32",
        "_s64 = ctypes.c_int64",
        "_char = ctypes.c_char",
        "",
        "",
        "class _Attr(ctypes.Structure):",
        '    """Base of the top-level layouts: a repr of the non-zero public fields."""',
        "",
        "    def __repr__(self) -> str:",
        "        parts = []",
        "        for fname, *_ in self._fields_:",
        '            if fname.startswith("_"):',
        "                continue",
        "            v = getattr(self, fname)",
        "            if isinstance(v, (int, bytes)) and v:",
        '                parts.append(f"{fname}={v!r}")',
        "        return f\"{type(self).__name__}({', '.join(parts)})\"",
    ]
    text = "\n".join(head + em.lines) + "\n"
    return text, em.live


# ---- ebpf/uapi/contexts.py -----------------------------------------------------------

def _ctx_fields(t: Any) -> list[tuple[str, int, int, int, bool]]:
    """(name, byte offset, size, element count, is pointer) of a context's members;
    anonymous unions/structs flattened, ``__bpf_md_ptr`` unions seen as their pointer."""
    from ebpf.btf import types as T  # noqa: PLC0415

    out = []
    for m in _flat_members(t):
        mt = T.resolve(m.type)
        if m.bitfield_size:
            continue
        count = 1
        size = T.sizeof(mt)
        pointer = isinstance(mt, T.Pointer)
        if isinstance(mt, T.Array):
            count = mt.nelems
        out.append((m.name, m.offset // 8, size, count, pointer))
    # __bpf_md_ptr(type, name): union { type name; __u64 :64; } __attribute__((aligned(8)))
    fixed = []
    for name, off, size, count, pointer in out:
        if not name:
            continue
        fixed.append((name, off, 8 if pointer else size, count, pointer))
    return fixed


def generate_contexts(header: Path, use_btf: bool = True) -> str:
    lines = [
        '"""Program context layouts (and two kernel-internal sizes the vm mirrors), from',
        "the kernel's BTF. GENERATED by tools/gen_uapi.py: do not edit.",
        "",
        "Each layout maps a C member name to :class:`Field` (byte offset, size in bytes,",
        "element count for arrays, whether it is a pointer). ``pt_regs`` is the generating",
        "machine's (x86-64).",
        "",
        ">>> SK_BUFF.size, SK_BUFF.fields['data'].offset",
        "(192, 76)",
        '"""',
        "",
        "from typing import NamedTuple",
        "",
        "",
        "class Field(NamedTuple):",
        "    offset: int",
        "    size: int",
        "    elems: int = 1",
        "    pointer: bool = False",
        "",
        "",
        "class Layout(NamedTuple):",
        "    name: str",
        "    size: int",
        "    fields: dict[str, Field]",
        "",
        "    def offset(self, name: str) -> int:",
        "        return self.fields[name].offset",
        "",
    ]
    for cname, pyname in CONTEXTS.items():
        t = btf_struct(cname)
        lines += ["", f"{pyname} = Layout({cname!r}, {t.size}, {{"]
        for name, off, size, count, pointer in ([] if cname in SIZE_ONLY else _ctx_fields(t)):
            extra = ""
            if count != 1 or pointer:
                extra = f", {count}" + (", True" if pointer else "")
            lines.append(f"    {name!r}: Field({off}, {size}{extra}),")
        lines.append("})")
    return "\n".join(lines) + "\n"


# ---- driver --------------------------------------------------------------------------

def generate_all(header: Path, use_btf: bool) -> dict[str, str]:
    """File name (inside src/ebpf/uapi) -> text."""
    out = {"__init__.py": generate_enums(header, use_btf),
           "consts.py": generate_consts(header, use_btf),
           "helpers.py": generate_helpers(header, use_btf)}
    if use_btf:
        out["structs.py"] = generate_structs(header)[0]
        out["contexts.py"] = generate_contexts(header)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--header", default="/usr/include/linux/bpf.h", type=Path)
    ap.add_argument("--no-btf", action="store_true",
                    help="enums and constants from the header only (no layouts)")
    ap.add_argument("-o", "--output", default=ROOT / "src/ebpf/uapi", type=Path)
    a = ap.parse_args()
    a.output.mkdir(parents=True, exist_ok=True)
    for name, text in generate_all(a.header, not a.no_btf).items():
        (a.output / name).write_text(text)
        print(f"wrote {a.output / name}")


if __name__ == "__main__":
    main()
