"""attach_program: the section's typed attach facts plus keyword arguments pick the hook family."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from ...errors import AttachError, NotSupportedError
from ...links import Link
from ...uapi import AttachType, ProgramType
from .common import log, prog_name
from .iter import attach_iter
from .kprobes import attach_kprobe, attach_kprobe_multi
from .netfilter import attach_netfilter
from .netns import attach_netns
from .perf_event import attach_perf_event
from .sockets import attach_reuseport, attach_socket, attach_sockmap
from .tc import attach_tc
from .tracepoint import attach_raw_tracepoint, attach_tracepoint
from .tracing import attach_struct_ops, attach_tracing
from .xdp import attach_xdp


def _kind_of(prog: Any) -> tuple[str, str, Any, bool]:
    """(attach_kind, attach_to, attach type number or None, retprobe) for ``prog``."""
    spec = prog.spec
    kind = spec.attach_kind or ""
    attach_to = spec.attach_to or ""
    atype = int(spec.attach_type) if spec.attach_type is not None else None
    retprobe = bool(spec.retprobe)
    info = spec.section_info
    if info is not None and info.known:
        kind = kind or info.attach_kind
        attach_to = attach_to or info.attach_to
        if atype is None and info.attach_type_value is not None:
            atype = info.attach_type_value
        retprobe = retprobe or info.retprobe
    if not kind:
        kind = _KIND_BY_TYPE.get(spec.type, "")
    return kind, attach_to, atype, retprobe


_KIND_BY_TYPE = {
    ProgramType.SOCKET_FILTER: "socket", ProgramType.XDP: "xdp", ProgramType.SCHED_CLS: "tc",
    ProgramType.TRACEPOINT: "tracepoint", ProgramType.RAW_TRACEPOINT: "raw_tracepoint",
    ProgramType.RAW_TRACEPOINT_WRITABLE: "raw_tracepoint", ProgramType.KPROBE: "kprobe",
    ProgramType.PERF_EVENT: "perf_event", ProgramType.CGROUP_SKB: "cgroup",
    ProgramType.CGROUP_SOCK: "cgroup", ProgramType.CGROUP_SOCK_ADDR: "cgroup",
    ProgramType.SOCK_OPS: "cgroup", ProgramType.CGROUP_DEVICE: "cgroup",
    ProgramType.CGROUP_SYSCTL: "cgroup", ProgramType.CGROUP_SOCKOPT: "cgroup",
    ProgramType.TRACING: "tracing", ProgramType.LSM: "lsm", ProgramType.SK_LOOKUP: "sk_lookup",
    ProgramType.FLOW_DISSECTOR: "flow_dissector", ProgramType.SK_SKB: "sk_skb",
    ProgramType.SK_MSG: "sk_msg", ProgramType.EXT: "freplace",
}


def attach_program(prog: Any, **target: Any) -> Link:
    """Attach kernel program ``prog`` where its section says, completed by
    ``target`` (see the module docs). Returns a :class:`ebpf.Link`.

    Raises :class:`ebpf.AttachError` naming what is missing or what failed, and
    :class:`ebpf.NotSupportedError` for what this kernel cannot do.
    """
    kind, attach_to, atype, retprobe = _kind_of(prog)
    if "retprobe" in target:
        retprobe = bool(target.pop("retprobe"))
    if "attach_type" in target:
        at = target.pop("attach_type")
        try:
            atype = int(AttachType[at.upper()]) if isinstance(at, str) else int(at)
        except (KeyError, ValueError, TypeError):
            raise AttachError(f"program {prog_name(prog)}: unknown attach_type {at!r} (an "
                              "AttachType, its name or its number)") from None
    # an explicit target kind wins over a generic program type guess
    if "perf_event" in target and kind in ("", "kprobe"):
        kind = "perf_event"
    if kind in ("kprobe", "uprobe", "") and ("usdt" in target or "provider" in target):
        kind = "usdt"
    elif kind in ("kprobe", "") and "binary" in target:
        kind = "uprobe"  # SEC("kprobe")-typed program put on user space code
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise NotSupportedError(f"attaching {kind or 'this kind of'} program {prog_name(prog)}",
                                detail=f"section {prog.spec.section!r}, type "
                                f"{getattr(prog.spec.type, 'name', prog.spec.type)}")
    try:
        link = handler(prog, attach_to, atype, retprobe, target)
    except (TypeError, ValueError) as e:  # arguments of the wrong type (cookie="x", ...)
        raise AttachError(f"attaching {kind} program {prog_name(prog)}: bad argument: {e}") from None
    log.debug("attached %s: %s", prog_name(prog), link.description)
    return link


def _lazy(module: str, name: str) -> Callable[..., Link]:
    """The handler ``name`` of ``module``, imported when first used (uprobes and USDT
    bring an ELF reader and more: a tracepoint start does not load them)."""
    def handler(*args: Any) -> Link:
        return getattr(import_module(module, __package__), name)(*args)  # type: ignore[no-any-return]

    return handler


_HANDLERS = {
    "xdp": attach_xdp,
    "tc": attach_tc,
    "tcx": attach_tc,
    "socket": attach_socket,
    "sk_reuseport": attach_reuseport,
    "cgroup": _lazy(".cgroup", "attach_cgroup"),
    "lsm_cgroup": _lazy(".cgroup", "attach_cgroup"),
    "sk_lookup": attach_netns("sk_lookup", "SK_LOOKUP"),
    "flow_dissector": attach_netns("flow_dissector", "FLOW_DISSECTOR"),
    "sk_skb": attach_sockmap("sk_skb"),
    "sk_msg": attach_sockmap("sk_msg"),
    "netfilter": attach_netfilter,
    "tracepoint": attach_tracepoint,
    "raw_tracepoint": attach_raw_tracepoint,
    "tracing": attach_tracing,
    "lsm": attach_tracing,
    "freplace": attach_tracing,
    "iter": attach_iter,
    "uprobe": _lazy(".uprobes", "attach_uprobe"),
    "uprobe_multi": _lazy(".uprobes", "attach_uprobe_multi"),
    "usdt": _lazy(".usdt", "attach_usdt"),
    "kprobe": attach_kprobe,
    "ksyscall": attach_kprobe,
    "kprobe_multi": attach_kprobe_multi,
    "kprobe_session": attach_kprobe_multi,
    "perf_event": attach_perf_event,
    "struct_ops": attach_struct_ops,
}
