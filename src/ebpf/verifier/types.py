"""Register values: what a register holds (its kind) and, for pointers, what
they point into and at which offsets.

A :class:`Reg` is immutable; transfer functions build new ones. A pointer's
offset is ``off`` (a known constant) plus ``var`` (a :class:`Scalar`, the
variable part), as in the kernel's ``bpf_reg_state``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from .scalar import Scalar


class Kind(enum.Enum):
    NOT_INIT = "?"
    SCALAR = "scalar"
    CTX = "ctx"
    STACK = "fp"
    PACKET = "pkt"
    PACKET_META = "pkt_meta"
    PACKET_END = "pkt_end"
    MAP_PTR = "map_ptr"
    MAP_VALUE = "map_value"
    MAP_KEY = "map_key"
    MEM = "mem"            # helper/ringbuf/kfunc memory of ``size`` bytes
    BTF_ID = "ptr_"        # a kernel object described by BTF (probe-read semantics)
    SOCKET = "sock"
    SOCK_COMMON = "sock_common"
    TCP_SOCK = "tcp_sock"
    FUNC = "func"
    CONST_STR = "const_str"
    ARENA = "arena"        # arena memory (after addr_space_cast): any offset, faults read 0


#: kinds a program may dereference
DEREF_KINDS = {Kind.CTX, Kind.STACK, Kind.PACKET, Kind.PACKET_META, Kind.MAP_VALUE,
               Kind.MAP_KEY, Kind.MEM, Kind.BTF_ID, Kind.SOCKET, Kind.SOCK_COMMON,
               Kind.TCP_SOCK, Kind.ARENA}
#: kinds a program may add a scalar to
ARITH_KINDS = {Kind.CTX, Kind.STACK, Kind.PACKET, Kind.PACKET_META, Kind.MAP_VALUE,
               Kind.MAP_KEY, Kind.MEM, Kind.BTF_ID, Kind.ARENA}


_ZERO = Scalar.const(0)


def _zero() -> Scalar:
    return _ZERO


@dataclass(frozen=True, slots=True)
class Reg:
    kind: Kind
    #: the value (scalars) or the variable offset (pointers)
    var: Scalar = field(default_factory=_zero)
    off: int = 0                 # constant offset (pointers)
    nullable: bool = False       # *_or_null: must be checked against 0 first
    id: int = 0                  # shared by copies: null checks and packet ranges
    ref: int = 0                 # reference that must be released (ref_obj_id)
    range: int = 0               # packet: bytes verified from the packet start + off
    map: Any = None              # MapSpec (map pointers and values)
    size: int = 0                # object size (MEM, MAP_KEY; stack: frame number)
    rdonly: bool = False
    btf: Any = None              # BTF type name for BTF_ID, subprog slot for FUNC
    frame: int = 0               # STACK: which frame

    @property
    def is_ptr(self) -> bool:
        return self.kind not in (Kind.SCALAR, Kind.NOT_INIT)

    @property
    def is_scalar(self) -> bool:
        return self.kind is Kind.SCALAR

    def is_const(self, v: int | None = None) -> bool:
        if self.kind is not Kind.SCALAR or not self.var.is_const():
            return False
        return v is None or self.var.value == v & ((1 << 64) - 1)

    def with_(self, **kw: Any) -> Reg:
        return replace(self, **kw)

    def type_name(self) -> str:
        name = self.kind.value
        if self.kind is Kind.BTF_ID:
            name += str(self.btf or "")
        if self.kind is Kind.MEM and self.btf == "ringbuf":
            name = "ringbuf_mem"
        if self.kind is Kind.MEM and self.rdonly:
            name = "rdonly_mem"
        if self.nullable:
            name += "_or_null"
        return name

    def describe(self) -> str:
        """Kernel-log style: ``scalar(umax=255)``, ``fp-8``, ``map_value(off=0,ks=4,vs=8)``."""
        if self.kind is Kind.NOT_INIT:
            return "?"
        if self.kind is Kind.SCALAR:
            if self.var.is_const():
                return str(self.var)
            inner = str(self.var)
            return f"scalar({inner})" if inner else "scalar()"
        if self.kind is Kind.STACK and self.var.is_const() and self.var.value == 0:
            return f"fp{self.off:+d}" if self.off else "fp0"
        parts = []
        if self.id:
            parts.append(f"id={self.id}")
        if self.ref:
            parts.append(f"ref_obj_id={self.ref}")
        if self.off:
            parts.append(f"off={self.off}")
        if self.kind in (Kind.PACKET, Kind.PACKET_META):
            parts.append(f"r={self.range}")
        if self.kind in (Kind.MAP_VALUE, Kind.MAP_PTR) and self.map is not None:
            parts.append(f"ks={self.map.key_size},vs={self.map.value_size}")
        if self.kind is Kind.MEM:
            parts.append(f"sz={self.size}")
        if not (self.var.is_const() and self.var.value == 0):
            parts.append(str(self.var))
        return f"{self.type_name()}({','.join(parts)})"


NOT_INIT = Reg(Kind.NOT_INIT)


def scalar(s: Scalar | None = None) -> Reg:
    return Reg(Kind.SCALAR, s if s is not None else Scalar.unknown())


def const(v: int) -> Reg:
    return Reg(Kind.SCALAR, Scalar.const(v))


def pointer(kind: Kind, **kw: Any) -> Reg:
    return Reg(kind, **kw)


class Reject(Exception):
    """The program is unsafe: the message is the kernel-style log line."""
