"""``ebpf map list|show|dump|lookup|update|delete`` — maps in the kernel.

MAP is an id, ``id ID``, ``pinned PATH`` or ``name NAME``. KEY and VALUE are
integers (``5``, ``0x10``, ``-1``: little-endian, sized to the map) or bytes
(``0x01 0x00 0x00 0x00`` as separate words, or ``hex:01000000``). Keys and
values may also be introduced bpftool-style: ``key 0x01 0x00 ... value 7``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from typing import Any

from .prog import TargetError, parse_target, parse_target_alone, resolve_ids, table

_BYTE_WORD = __import__("re").compile(r"^(0x)?[0-9a-fA-F]{1,2}$")


def parse_value(tokens: list[str], size: int, what: str) -> bytes:
    """Bytes of exactly ``size`` from command-line words."""
    words = [w for t in tokens for w in t.replace(",", " ").split()]
    if not words:
        raise TargetError(f"missing {what}")
    try:
        if len(words) == 1 and words[0].startswith("hex:"):
            raw = bytes.fromhex(words[0][4:])
        elif len(words) > 1:
            if not all(_BYTE_WORD.match(w) for w in words):
                raise ValueError
            raw = bytes(int(w, 16) for w in words)
        else:
            n = int(words[0], 0)
            try:
                raw = n.to_bytes(size, "little", signed=n < 0)
            except OverflowError:
                raise TargetError(f"{what} {words[0]} does not fit in {size} bytes") from None
    except ValueError:
        raise TargetError(f"bad {what} {' '.join(words)!r}: use an integer, hex:HEX or "
                          "byte words like 0x01 0x00") from None
    if len(raw) != size:
        raise TargetError(f"{what} is {len(raw)} bytes, the map needs {size}")
    return raw


def _split_key_value(rest: list[str], need_value: bool) -> tuple[list[str], list[str]]:
    if rest and rest[0] == "key":
        rest = rest[1:]
        if "value" in rest:
            i = rest.index("value")
            return rest[:i], rest[i + 1:]
        return rest, []
    if not need_value:
        return rest, []
    if "value" in rest:
        i = rest.index("value")
        return rest[:i], rest[i + 1:]
    if len(rest) == 2:
        return rest[:1], rest[1:]
    raise TargetError("give KEY and VALUE (or 'key ... value ...')")


def _open_pinned_map(path: str):
    from ..kernel.maps import open_pinned_map

    return open_pinned_map(path)


def _map_ids(target: tuple[str, str]) -> list[int]:
    from ..kernel.info import list_maps

    return resolve_ids(target, "map", list_maps, _open_pinned_map)


def _open(target: tuple[str, str]):
    from ..kernel.maps import open_map_by_id, open_pinned_map

    if target[0] == "pinned":
        return open_pinned_map(target[1])
    ids = _map_ids(target)
    if len(ids) != 1:
        raise TargetError(f"{len(ids)} maps are named {target[1]!r}; use an id")
    return open_map_by_id(ids[0])


def _jsonable(v: Any) -> Any:
    from ..codec import Struct

    if isinstance(v, Struct):
        return {k: _jsonable(x) for k, x in v.asdict().items()}
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    return v


def _text(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return " ".join(f"{b:02x}" for b in v)
    return str(v)


def _map_row(i) -> dict[str, Any]:
    return {"id": i.id, "type": i.type_name, "name": i.name, "key": i.key_size,
            "value": i.value_size, "max_entries": i.max_entries, "flags": hex(i.flags),
            "btf_id": i.btf_id, "frozen": i.frozen}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("map", help="list, show, dump and edit maps in the kernel",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="map_verb", metavar="VERB")
    ls = verbs.add_parser("list", help="every map (table or --json)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    for name, fn, hlp in (("show", run_show, "one map's details"),
                          ("dump", run_dump, "every entry"),
                          ("lookup", run_lookup, "MAP KEY: one entry"),
                          ("update", run_update, "MAP KEY VALUE: write an entry"),
                          ("delete", run_delete, "MAP KEY: remove an entry"),
                          ("pin", run_pin, "MAP PATH: pin the map in bpffs"),
                          ("freeze", run_freeze, "MAP: make it read-only from user space")):
        sp = verbs.add_parser(name, help=hlp)
        sp.add_argument("words", nargs=argparse.REMAINDER, metavar="MAP [KEY [VALUE]]")
        sp.add_argument("--json", action="store_true")
        sp.set_defaults(func=fn)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _words(args: argparse.Namespace) -> list[str]:
    words = list(args.words)
    if "--json" in words:
        words.remove("--json")
        args.json = True
    return words


def run_list(args: argparse.Namespace) -> int:
    from ..kernel.info import list_maps

    rows = [_map_row(i) for i in list_maps()]
    if args.json:
        print(json.dumps(rows))
    else:
        table(rows, ["id", "type", "name", "key", "value", "max_entries", "flags"])
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..kernel.info import map_info

    target = parse_target_alone(_words(args), "map")
    infos = [map_info(i) for i in _map_ids(target)]
    if args.json:
        data = [i.as_dict() for i in infos]
        print(json.dumps(data[0] if len(data) == 1 else data))
        return 0
    for i in infos:
        print(f"{i.id}: {i.type_name}  name {i.name}  flags {i.flags:#x}"
              + ("  frozen" if i.frozen else ""))
        print(f"\tkey {i.key_size}B  value {i.value_size}B  max_entries {i.max_entries}"
              + (f"  btf_id {i.btf_id}" if i.btf_id else ""))
    return 0


def run_dump(args: argparse.Namespace) -> int:
    target = parse_target_alone(_words(args), "map")
    with _open(target) as m:
        items = m.lookup_batch() if m.key_size else []
        if args.json:
            print(json.dumps([{"key": _jsonable(k), "value": _jsonable(v)} for k, v in items]))
        else:
            for k, v in items:
                print(f"key: {_text(k)}  value: {_text(v)}")
            print(f"Found {len(items)} element{'s' if len(items) != 1 else ''}")
    return 0


@contextlib.contextmanager
def _keyed(args: argparse.Namespace, need_value: bool) -> Iterator[tuple[Any, bytes, list[str]]]:
    """The map the words name (open while in the block), the key they give, and
    the tokens of the value that follows it (when ``need_value``)."""
    target, rest = parse_target(_words(args), "map")
    ktoks, vtoks = _split_key_value(rest, need_value=need_value)
    with _open(target) as m:
        yield m, parse_value(ktoks, m.key_size, "key"), vtoks


def run_lookup(args: argparse.Namespace) -> int:
    with _keyed(args, need_value=False) as (m, key, _):
        raw = m.lookup_bytes(key)
        if raw is None:
            raise TargetError(f"map {m.name}: no entry for key {_text(key)}")
        value = m.decode_value(raw)
        shown = m.decode_key(key)  # as `map dump` shows keys
        if args.json:
            print(json.dumps({"key": _jsonable(shown), "value": _jsonable(value)}))
        else:
            print(f"key: {_text(shown)}  value: {_text(value)}")
    return 0


def run_update(args: argparse.Namespace) -> int:
    with _keyed(args, need_value=True) as (m, key, vtoks):
        vsize = m._value_buf_size() if m.per_cpu else m.value_size
        value = parse_value(vtoks, vsize if len(vtoks) > 1 or (vtoks and vtoks[0].startswith("hex:"))
                            else m.value_size, "value")
        if m.per_cpu and len(value) == m.value_size:
            value = m.encode_value(value)
        m.check_index(key)
        m.update_bytes(key, value)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    with _keyed(args, need_value=False) as (m, key, _):
        if not m.delete_bytes(key):
            raise TargetError(f"map {m.name}: no entry for key {_text(key)}")
    return 0


def run_pin(args: argparse.Namespace) -> int:
    target, rest = parse_target(_words(args), "map")
    if len(rest) != 1:
        raise TargetError("usage: ebpf map pin MAP PATH")
    with _open(target) as m:
        m.pin(rest[0])
    return 0


def run_freeze(args: argparse.Namespace) -> int:
    target = parse_target_alone(_words(args), "map")
    with _open(target) as m:
        m.freeze()
    return 0
