"""pprof output: a gzipped ``perftools.profiles.Profile`` protocol buffer (the
format ``go tool pprof``, Pyroscope, Speedscope and friends read), encoded here
by hand (the wire format is a handful of varints and length-delimited fields).

>>> from ebpf.symbols import Frame
>>> from .profile import Stack, StackProfile
>>> p = StackProfile(unit="samples")
>>> p.add(Stack((Frame(0x1010, "leaf", "/bin/demo"), Frame(0x1000, "main", "/bin/demo"))), 5)
>>> to_pprof(p)[:2] == b"\\x1f\\x8b"  # gzip
True
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

from ..errors import Error
from .profile import StackProfile

# Profile message field numbers (profile.proto)
_P_SAMPLE_TYPE, _P_SAMPLE, _P_MAPPING, _P_LOCATION, _P_FUNCTION, _P_STRINGS = 1, 2, 3, 4, 5, 6
_P_TIME, _P_DURATION, _P_PERIOD_TYPE, _P_PERIOD = 9, 10, 11, 12


def _varint(v: int) -> bytes:
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_varint(num: int, v: int) -> bytes:
    return _varint(num << 3) + _varint(v) if v else b""


def _field_bytes(num: int, data: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _packed(num: int, values: list[int]) -> bytes:
    return _field_bytes(num, b"".join(_varint(v) for v in values)) if values else b""


class _Strings:
    def __init__(self) -> None:
        self.index: dict[str, int] = {"": 0}
        self.table: list[str] = [""]

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


_UNITS = {"samples": ("samples", "count"), "nanoseconds": ("off-cpu", "nanoseconds"),
          "calls": ("calls", "count")}


def encode_profile(profile: StackProfile, *, period: int = 0,
                   duration_ns: int = 0) -> bytes:
    """The ``Profile`` message (not compressed) for ``profile``."""
    strings = _Strings()
    stype, sunit = _UNITS.get(profile.unit, (profile.unit, "count"))
    functions: dict[tuple[str, str], int] = {}
    locations: dict[tuple[int, int], int] = {}
    mappings: dict[str, int] = {}
    func_msgs: list[bytes] = []
    loc_msgs: list[bytes] = []
    map_msgs: list[bytes] = []
    samples: list[bytes] = []
    for stack, value in profile.counts.items():
        loc_ids = []
        for f in stack.frames:  # innermost first, as pprof wants
            module = f.module or ("[kernel]" if f.kernel else "")
            mid = mappings.get(module)
            if mid is None and module:
                mid = mappings[module] = len(mappings) + 1
                map_msgs.append(_field_varint(1, mid) + _field_varint(5, strings(module)))
            name = f.label()
            fkey = (name, module)
            fid = functions.get(fkey)
            if fid is None:
                fid = functions[fkey] = len(functions) + 1
                func_msgs.append(_field_varint(1, fid) + _field_varint(2, strings(name))
                                 + _field_varint(3, strings(name))
                                 + _field_varint(4, strings(f.file)))
            lkey = (f.address, fid)
            lid = locations.get(lkey)
            if lid is None:
                lid = locations[lkey] = len(locations) + 1
                line = _field_varint(1, fid) + _field_varint(2, f.line)
                loc_msgs.append(_field_varint(1, lid) + _field_varint(2, mid or 0)
                                + _field_varint(3, f.address) + _field_bytes(4, line))
            loc_ids.append(lid)
        labels = b""
        if stack.comm:
            labels += _field_bytes(3, _field_varint(1, strings("comm"))
                                   + _field_varint(2, strings(stack.comm)))
        if stack.pid:
            labels += _field_bytes(3, _field_varint(1, strings("pid")) + _field_varint(3, stack.pid))
        samples.append(_packed(1, loc_ids) + _packed(2, [value]) + labels)
    out = bytearray()
    out += _field_bytes(_P_SAMPLE_TYPE, _field_varint(1, strings(stype))
                        + _field_varint(2, strings(sunit)))
    for sample in samples:
        out += _field_bytes(_P_SAMPLE, sample)
    for m in map_msgs:
        out += _field_bytes(_P_MAPPING, m)
    for loc in loc_msgs:
        out += _field_bytes(_P_LOCATION, loc)
    for fn in func_msgs:
        out += _field_bytes(_P_FUNCTION, fn)
    period_type = _field_varint(1, strings("cpu" if profile.unit == "samples" else stype)) \
        + _field_varint(2, strings("nanoseconds" if profile.unit == "samples" else sunit))
    for text in strings.table:
        out += _field_bytes(_P_STRINGS, text.encode())
    out += _field_varint(_P_TIME, time.time_ns())
    out += _field_varint(_P_DURATION, duration_ns)
    out += _field_bytes(_P_PERIOD_TYPE, period_type)
    out += _field_varint(_P_PERIOD, period)
    return bytes(out)


def to_pprof(profile: StackProfile, *, period: int = 0, duration_ns: int = 0) -> bytes:
    """The gzipped pprof file contents for ``profile``."""
    return gzip.compress(encode_profile(profile, period=period, duration_ns=duration_ns), 6)


def write_pprof(profile: StackProfile, path: str | Path, **kw: int) -> Path:
    p = Path(path)
    try:
        p.write_bytes(to_pprof(profile, **kw))
    except OSError as e:
        raise Error(f"writing pprof profile {p}: {e.strerror}") from None
    return p


__all__ = ["encode_profile", "to_pprof", "write_pprof"]
