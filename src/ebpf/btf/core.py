"""CO-RE: resolve relocations recorded by clang against the target kernel's BTF.

A program compiled against one kernel's types (``vmlinux.h``, or local
``struct foo___v1 { ... } __attribute__((preserve_access_index))`` definitions)
records, for each field access, *which* field it meant (an accessor path such
as ``0:3:1`` through its local BTF). At load time the path is replayed by
member *names* on the target kernel's types, and the instruction gets the
target's offset / size / existence / enum value instead of the compiled one.

Candidates are target types of the same kind whose name equals the local name
without its ``___flavour`` suffix. Several candidates must agree, or the
relocation is ambiguous. A field access that cannot be satisfied poisons the
instruction (``call 0xbad2310``) as libbpf does, so the verifier rejects the
program only if that code is reachable; ``CoreResult.reason`` says why.

>>> from ebpf.btf.core import essential_name
>>> essential_name("task_struct___old")
'task_struct'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._internal.ints import s32
from ..errors import BTFError
from ..isa import opcodes as op
from ..isa.instruction import Instruction
from . import types as T
from .core_fields import FieldSpec, access_size, field_value, local_field, match_field, parse_access
from .core_types import (
    candidates,
    describe,
    essential_name,
    tag_kind,
    types_compatible,
    types_match,
)
from .ext import CoreKind, CORERelocation
from .parse import Spec

log = logging.getLogger(__name__)

#: helper id clang/libbpf use to mark an instruction whose relocation failed
POISON_HELPER = 0xBAD2310


@dataclass
class CoreResult:
    """What one relocation resolved to.

    ``poisoned`` is True when the instruction was replaced by the poison call;
    ``reason`` then says what could not be found (field and type named).
    """

    index: int  # position of the instruction in the list
    relocation: CORERelocation
    local_value: int
    target_value: int
    poisoned: bool = False
    reason: str = ""
    target_type_id: int = 0
    description: str = ""


# --- resolution --------------------------------------------------------------------

@dataclass
class Resolution:
    """Local and target values of one relocation (before patching)."""

    local_value: int
    target_value: int
    exists: bool  # a target was found (False: poison for non-"exists" kinds)
    reason: str = ""
    target_type_id: int = 0
    #: memory-access sizes of the field (element size for arrays; 0 for bit-fields)
    target_field_size: int = 0
    local_field_size: int = 0
    #: False when a load/store of the field cannot simply change width (signed
    #: ints, enums, structs...): such an instruction is poisoned instead
    size_adjustable: bool = True
    #: check the instruction holds local_value (libbpf skips bit-fields and target ids)
    validate: bool = True
    description: str = ""


def resolve_relocation(relo: CORERelocation, local: Spec,
                       targets: Spec | Sequence[Spec]) -> Resolution:
    """Resolve one relocation against ``targets`` (a spec or vmlinux + modules).

    Raises BTFError for malformed records and for ambiguous candidates; a
    target that simply lacks the field/type yields ``exists=False``.
    """
    if isinstance(targets, Spec):
        targets = [targets]
    try:
        kind = CoreKind(relo.kind)
    except ValueError:
        raise BTFError(f"CO-RE relocation of type {relo.type_id}: unknown kind {relo.kind!r}") from None
    where = f"CO-RE relocation ({kind.name}, type {relo.type_id}, access {relo.access_str!r})"
    try:
        local_t = local[relo.type_id]
    except BTFError:
        raise BTFError(f"{where}: no local BTF type {relo.type_id}") from None
    access = parse_access(relo.access_str, where)
    lname = describe(local_t)

    if kind == CoreKind.TYPE_ID_LOCAL:
        return Resolution(relo.type_id, relo.type_id, True, description=lname)
    if any(t is local for t in targets):
        # relocating against the object's own BTF: every value stays as compiled
        r = resolve_relocation(relo, local, [])
        r.target_value, r.exists, r.reason = r.local_value, True, ""
        r.target_field_size = r.local_field_size
        r.size_adjustable = True
        return r

    if kind.is_field:
        lf = local_field(local, relo.type_id, access, where)
        lval = field_value(lf, kind)
        lsize, ltype = access_size(lf)
        check = not lf.bitfield_size or kind == CoreKind.FIELD_SIGNED
        results: list[tuple[int, FieldSpec]] = []
        reasons = []
        for spec, cid in candidates(local_t, targets):
            m, why = match_field(lf, spec, cid)
            if m is None:
                reasons.append(why)
                continue
            results.append((field_value(m, kind), m))
        desc = lf.description
        if not results:
            if reasons:
                why = reasons[0]
            else:
                tag = tag_kind(local_t) if isinstance(local_t, (T.Composite, T.Fwd)) else local_t.kind
                why = f"target BTF has no {tag} {essential_name(getattr(local_t, 'name', ''))}"
            if kind == CoreKind.FIELD_EXISTS:
                return Resolution(lval, 0, True, why, validate=check, description=desc)
            return Resolution(lval, 0, False, f"{desc}: {why}", validate=check, description=desc)
        vals = {v for v, _ in results}
        if len(vals) > 1:
            raise BTFError(f"{where} ({desc}): ambiguous, {len(results)} target candidates "
                           f"give different values {sorted(vals)}")
        val, m = results[0]
        tsize, ttype = access_size(m)
        adjustable = lsize == tsize or (
            isinstance(ltype, T.Pointer) and isinstance(ttype, T.Pointer)) or (
            isinstance(ltype, T.Int) and isinstance(ttype, T.Int)
            and not ltype.signed and not ttype.signed)
        return Resolution(lval, val, True, target_type_id=m.root_id, target_field_size=tsize,
                          local_field_size=lsize, size_adjustable=adjustable,
                          validate=check, description=desc)

    if kind.is_enumval:
        le = T.resolve(local_t)
        if not isinstance(le, T.Enum):
            raise BTFError(f"{where}: local type {lname} is not an enum")
        if len(access) != 1 or access[0] >= len(le.values):
            raise BTFError(f"{where}: enumerator #{access[0]} beyond {lname}")
        lv = le.values[access[0]]
        desc = f"{lname}::{lv.name}"
        want = essential_name(lv.name)
        found: list[tuple[int, int]] = []
        for spec, cid in candidates(local_t, targets):
            te = T.resolve(spec[cid])
            if not isinstance(te, T.Enum):
                continue
            for v in te.values:
                if essential_name(v.name) == want:
                    found.append((v.value, cid))
                    break
        local_val = 1 if kind == CoreKind.ENUMVAL_EXISTS else lv.value
        if not found:
            why = f"{desc}: no such enumerator in target BTF"
            if kind == CoreKind.ENUMVAL_EXISTS:
                return Resolution(local_val, 0, True, why, description=desc)
            return Resolution(local_val, 0, False, why, description=desc)
        vals = {v for v, _ in found}
        if kind == CoreKind.ENUMVAL_VALUE and len(vals) > 1:
            raise BTFError(f"{where} ({desc}): ambiguous, enumerator values {sorted(vals)}")
        val = 1 if kind == CoreKind.ENUMVAL_EXISTS else found[0][0]
        return Resolution(local_val, val, True, target_type_id=found[0][1], description=desc)

    # type-based relocations
    if access != [0]:
        raise BTFError(f"{where}: type relocation with access string {relo.access_str!r}")
    matches: list[tuple[Spec, int]] = []
    for spec, cid in candidates(local_t, targets):
        ok = types_match(local_t, spec[cid]) if kind == CoreKind.TYPE_MATCHES else \
            types_compatible(local_t, spec[cid])
        if ok:
            matches.append((spec, cid))
    lsize = 0
    try:
        lsize = T.sizeof(local_t)
    except BTFError:
        pass
    local_val = {CoreKind.TYPE_ID_TARGET: relo.type_id, CoreKind.TYPE_EXISTS: 1,
                 CoreKind.TYPE_SIZE: lsize, CoreKind.TYPE_MATCHES: 1}[kind]
    if not matches:
        why = f"{lname}: no matching type in target BTF"
        if kind in (CoreKind.TYPE_EXISTS, CoreKind.TYPE_MATCHES):
            return Resolution(local_val, 0, True, why, description=lname)
        return Resolution(local_val, 0, False, why, validate=kind != CoreKind.TYPE_ID_TARGET,
                          description=lname)
    if kind == CoreKind.TYPE_SIZE:
        vals = {T.sizeof(spec[cid]) for spec, cid in matches}
    elif kind == CoreKind.TYPE_ID_TARGET:
        vals = {cid for _, cid in matches}
    else:
        vals = {1}
    if len(vals) > 1:
        raise BTFError(f"{where} ({lname}): ambiguous, {len(matches)} target candidates "
                       f"give different values {sorted(vals)}")
    return Resolution(local_val, vals.pop(), True, target_type_id=matches[0][1],
                      validate=kind != CoreKind.TYPE_ID_TARGET, description=lname)


# --- patching -------------------------------------------------------------------------

_SIZE_CODE = {1: op.BPF_B, 2: op.BPF_H, 4: op.BPF_W, 8: op.BPF_DW}
_CODE_SIZE = {v: k for k, v in _SIZE_CODE.items()}


def _poison() -> Instruction:
    return Instruction(op.BPF_JMP | op.BPF_CALL, imm=POISON_HELPER)


def apply_core_relocations(insns: list[Instruction], local: Spec,
                           target: Spec | Sequence[Spec], strict: bool = False,
                           validate: bool = True) -> list[CoreResult]:
    """Resolve and patch, in place, every instruction of ``insns`` whose
    ``.core`` holds a :class:`CORERelocation`.

    ALU immediates, LDX/ST/STX offsets (and load sizes when the target field
    is narrower or wider) and ``lddw`` constants are rewritten. A relocation
    that cannot be satisfied replaces its instruction by ``call 0xbad2310``
    (an ``lddw`` by two such calls, keeping slot positions), unless ``strict``:
    then BTFError names the field and type. ``validate`` checks that the
    instruction holds the value the local BTF implies (as clang emits it).

    ``target`` is the kernel's BTF (``ebpf.btf.load_kernel_specs()`` for
    vmlinux plus modules); passing ``local`` itself keeps compiled values.
    Returns one :class:`CoreResult` per relocation.
    """
    targets = [target] if isinstance(target, Spec) else list(target)
    results: list[CoreResult] = []
    todo = [(i, ins) for i, ins in enumerate(insns) if ins.core is not None]
    replacements: list[tuple[int, list[Instruction]]] = []
    for idx, ins in todo:
        relo = ins.core
        if not isinstance(relo, CORERelocation):
            raise BTFError(f"instruction {idx}: .core is {type(relo).__name__}, "
                           f"not a CORERelocation")
        res = resolve_relocation(relo, local, targets)
        out = CoreResult(idx, relo, res.local_value, res.target_value,
                         target_type_id=res.target_type_id, description=res.description,
                         reason=res.reason)
        results.append(out)
        if not res.exists:
            if strict:
                raise BTFError(f"instruction {idx}: CO-RE {relo.kind.name} relocation "
                               f"failed: {res.reason}")
            out.poisoned = True
            log.info("instruction %d: poisoning CO-RE %s relocation: %s", idx,
                     relo.kind.name, res.reason)
            replacements.append((idx, [_poison(), _poison()] if ins.is_lddw else [_poison()]))
            continue
        _patch(ins, idx, relo, res, validate, out, replacements, strict)
    _splice(insns, results, replacements)
    return results


def _splice(insns: list[Instruction], results: list[CoreResult],
            replacements: list[tuple[int, list[Instruction]]]) -> None:
    """Put the poison calls in place, keeping ``CoreResult.index`` pointing at the
    (first) replacement instruction."""
    for idx, new in sorted(replacements, key=lambda r: r[0], reverse=True):
        for n in new:
            n.core = insns[idx].core
        insns[idx:idx + 1] = new
    if replacements:
        shift = 0
        rep = dict(replacements)
        positions: dict[int, int] = {}
        for i in range(max(r.index for r in results) + 1):
            positions[i] = i + shift
            if i in rep:
                shift += len(rep[i]) - 1
        for r in results:
            r.index = positions[r.index]


def core_outcomes(insns: list[Instruction], results: list[CoreResult]) -> list[list[Any]]:
    """What :func:`apply_core_relocations` did, as plain data (JSON-able), one entry
    per relocation in order: the instruction's new ``[opcode, dst, src, off, imm]``
    or ``None`` when it was poisoned, and the result's values. ``insns`` are the
    instructions after the call. :func:`replay_core_relocations` does it again."""
    return [[None if r.poisoned else [insns[r.index].opcode, insns[r.index].dst,
                                      insns[r.index].src, insns[r.index].off,
                                      insns[r.index].imm],
             r.local_value, r.target_value, r.reason, r.target_type_id, r.description]
            for r in results]


def replay_core_relocations(insns: list[Instruction], outcomes: Sequence[Any]
                            ) -> list[CoreResult] | None:
    """Patch ``insns`` as :func:`apply_core_relocations` did when it gave
    ``outcomes`` (:func:`core_outcomes`) for the same instructions, local BTF and
    target BTF, without reading any BTF. None (``insns`` untouched) when the
    outcomes do not fit these instructions."""
    todo = [(i, ins) for i, ins in enumerate(insns) if ins.core is not None]
    if not isinstance(outcomes, (list, tuple)) or len(outcomes) != len(todo):
        return None
    results: list[CoreResult] = []
    replacements: list[tuple[int, list[Instruction]]] = []
    patches: list[tuple[Instruction, list[int]]] = []
    try:
        for (idx, ins), (fields, local, target, reason, tid, desc) in zip(todo, outcomes, strict=True):
            if not isinstance(ins.core, CORERelocation):
                return None
            out = CoreResult(idx, ins.core, int(local), int(target), poisoned=fields is None,
                             reason=str(reason), target_type_id=int(tid),
                             description=str(desc))
            results.append(out)
            if fields is None:
                replacements.append((idx, [_poison(), _poison()] if ins.is_lddw else [_poison()]))
            elif len(fields) != 5:
                return None
            else:
                patches.append((ins, [int(f) for f in fields]))
    except (TypeError, ValueError):
        return None
    for ins, (opcode, dst, src, off, imm) in patches:
        ins.opcode, ins.dst, ins.src, ins.off, ins.imm = opcode, dst, src, off, imm
    _splice(insns, results, replacements)
    return results


def _patch(ins: Instruction, idx: int, relo: CORERelocation, res: Resolution, validate: bool,
           out: CoreResult, replacements: list, strict: bool) -> None:
    cls = ins.cls
    new = res.target_value
    validate = validate and res.validate
    where = f"instruction {idx} ({relo.kind.name} of {res.description})"
    if ins.is_lddw:
        if validate and ins.imm != res.local_value & 0xFFFFFFFFFFFFFFFF:
            raise BTFError(f"{where}: lddw holds {ins.imm}, expected {res.local_value}")
        ins.imm = new & 0xFFFFFFFFFFFFFFFF
        return
    if cls in (op.BPF_ALU, op.BPF_ALU64):
        if ins.opcode & op.BPF_X:
            raise BTFError(f"{where}: ALU instruction with a register source cannot be relocated")
        if validate and ins.imm != s32(res.local_value):
            raise BTFError(f"{where}: instruction holds {ins.imm}, expected {res.local_value}")
        if not -(1 << 31) <= new < (1 << 32):
            raise BTFError(f"{where}: value {new} does not fit a 32-bit immediate")
        ins.imm = s32(new)
        return
    if cls in (op.BPF_LDX, op.BPF_ST, op.BPF_STX):
        if relo.kind != CoreKind.FIELD_BYTE_OFFSET:
            raise BTFError(f"{where}: memory instruction with a {relo.kind.name} relocation")
        if validate and ins.off != res.local_value:
            raise BTFError(f"{where}: instruction offset {ins.off}, expected {res.local_value}")
        if not -(1 << 15) <= new < (1 << 15):
            raise BTFError(f"{where}: offset {new} does not fit 16 bits")
        if res.target_field_size != res.local_field_size:
            size = _CODE_SIZE.get(ins.opcode & 0x18)
            if size != res.local_field_size:
                raise BTFError(f"{where}: instruction accesses {size} bytes, the local field "
                               f"has {res.local_field_size}")
            if not res.size_adjustable or res.target_field_size not in _SIZE_CODE:
                reason = (f"{res.description}: field size changed from {res.local_field_size} "
                          f"to {res.target_field_size} bytes and the access cannot follow")
                if strict:
                    raise BTFError(f"{where}: {reason}")
                out.poisoned = True
                out.reason = reason
                replacements.append((idx, [_poison()]))
                return
            ins.opcode = (ins.opcode & ~0x18) | _SIZE_CODE[res.target_field_size]
        ins.off = new
        return
    raise BTFError(f"{where}: cannot relocate opcode {ins.opcode:#04x}")


def relocate_program(insns: list[Instruction], local: Spec, target: Spec | Sequence[Spec] | None = None,
                     **kw: Any) -> list[CoreResult]:
    """:func:`apply_core_relocations` against the running kernel's BTF (vmlinux
    and modules) when ``target`` is None."""
    if target is None:
        from . import load_kernel_specs

        target = load_kernel_specs()
    return apply_core_relocations(insns, local, target, **kw)


def explain_poison(results: Sequence[CoreResult], verifier_log: str = "") -> str:
    """Lines naming each poisoned relocation (instruction, kind, field, why), for
    an error message. With ``verifier_log``, only when the log shows the verifier
    reached a poisoned instruction (``call unknown#195896080``); else ""."""
    poisoned = [r for r in results if r.poisoned]
    if not poisoned:
        return ""
    if verifier_log and str(POISON_HELPER) not in verifier_log and \
            hex(POISON_HELPER) not in verifier_log:
        return ""
    return "\n".join(f"instruction {r.index}: CO-RE {CoreKind(r.relocation.kind).name} "
                     f"relocation failed: {r.reason}" for r in poisoned)
