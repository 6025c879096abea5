"""Loading and attaching one config's BPF object the way ebpf_exporter does, with
messages that name the kernel feature a refused program needs.

ebpf_exporter's own section conventions are honoured on top of libbpf's:
``perf_event/type=T,config=C,frequency=F`` (one event per online CPU) and
``xdp/IFNAME``.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import AttachError, ConfigError, Error, NotSupportedError, PrivilegeError

log = logging.getLogger("ebpf.export")

#: section prefixes -> the kernel feature they need, for messages
_FEATURES = (
    ("fentry", "fentry (BPF trampoline)"), ("fexit", "fexit (BPF trampoline)"),
    ("fmod_ret", "fmod_ret (BPF trampoline)"), ("lsm", "BPF LSM"), ("iter", "BPF iterators"),
    ("kprobe", "kprobes"), ("kretprobe", "kretprobes"), ("ksyscall", "kprobes"),
    ("usdt", "uprobes (USDT)"), ("uprobe", "uprobes"), ("uretprobe", "uretprobes"),
    ("tp_btf", "BTF tracepoints (tp_btf)"), ("raw_tp", "raw tracepoints"),
    ("tracepoint", "tracepoints"), ("perf_event", "perf events"), ("xdp", "XDP"),
)


def feature_of(section: str) -> str:
    """The kernel feature a program in ``section`` relies on ("" when unknown)."""
    head = section.split("/", 1)[0].split(".", 1)[0]
    for prefix, feature in _FEATURES:
        if head == prefix:
            return feature
    return ""


def explain(config: str, prog: str, section: str, err: Error) -> Error:
    """``err`` with the config, program and missing feature named; same error type."""
    feature = feature_of(section)
    if isinstance(err, NotSupportedError):
        return NotSupportedError(feature or err.feature, detail=f"config {config}, program "
                                 f"{prog} ({section}): {err}")
    lead = f"config {config}, program {prog} ({section})"
    if isinstance(err, PrivilegeError) and "lockdown" in str(err):
        return NotSupportedError(feature or "this program type",
                                 detail=f"{lead}: the kernel refused it ({err})")
    if isinstance(err, PrivilegeError):
        return err
    cls = type(err)
    try:
        new = cls.__new__(cls)
        Exception.__init__(new, f"{lead}: {err}")
        new.__dict__.update(err.__dict__)
        if hasattr(new, "message"):
            new.message = f"{lead}: {err}"
        return new
    except Exception:  # noqa: BLE001 - an error type with an unusual constructor
        return Error(f"{lead}: {err}")


def explain_load(config: str, spec: Any, err: Error) -> Error:
    """A load error with the program and the kernel feature it needs named."""
    import re

    m = re.search(r"section '([^']+)'", str(err))
    section = m.group(1) if m else ""
    prog = next((p for p in spec.programs.values() if p.section == section), None)
    if prog is None:
        m = re.match(r"(?:loading )?program (\w+)", str(err))
        name = getattr(err, "program", None) or (m.group(1) if m else None)
        prog = spec.programs.get(name) if name else None
    if prog is None:
        return err
    return explain(config, prog.name, prog.section, err)


def short(err: BaseException, lines: int = 6) -> str:
    """The first lines of an error (compiler diagnostics can be very long)."""
    text = str(err).splitlines()
    return "\n".join(text[:lines] + ([f"... ({len(text) - lines} more lines)"]
                                      if len(text) > lines else []))


def perf_event_target(section: str) -> dict[str, Any]:
    """``perf_event/type=0,config=3,frequency=1`` -> attach options (ebpf_exporter's
    convention: one event per online CPU, sampled at ``frequency`` Hz)."""
    ev: dict[str, Any] = {}
    body = section.split("/", 1)[1] if "/" in section else ""
    for item in filter(None, body.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"section {section}: invalid perf_event item {item!r}")
        try:
            num = int(value, 0)
        except ValueError:
            raise ConfigError(f"section {section}: {key} must be an integer") from None
        if key == "type":
            ev["type"] = num
        elif key == "config":
            ev["config"] = num
        elif key == "frequency":
            ev["sample_freq"] = num
        else:
            raise ConfigError(f"section {section}: unknown perf_event item {key!r}")
    if "sample_freq" not in ev:
        raise ConfigError(f"section {section}: perf_event needs frequency=")
    return {"perf_event": ev}


def attach_target(prog: Any) -> dict[str, Any] | None:
    """Options for ``prog.attach(...)``; ``{}`` when the section says it all, None when
    the program is not attached by the exporter (e.g. a tail-call target)."""
    from ..spec.sections import needs_target

    section = prog.spec.section or ""
    if section.startswith("perf_event"):
        return perf_event_target(section)
    if section.startswith("xdp/") and section.count("/") == 1:
        ifname = section.split("/", 1)[1]
        if ifname not in ("devmap", "cpumap"):
            return {"ifname": ifname}
    if needs_target(prog.spec):
        return None
    return {}


def attach_all(config: str, obj: Any) -> list[Any]:
    """Attach every program (as ebpf_exporter: each one its section says where);
    on any failure detach what was attached and raise with the feature named."""
    links = []
    try:
        for name, prog in obj.programs.items():
            section = prog.spec.section or ""
            target = attach_target(prog)
            if target is None:
                log.info("config %s: program %s (%s) needs a target; not attached",
                         config, name, section)
                continue
            try:
                links.append((name, prog.attach(**target)))
            except Error as e:
                raise explain(config, name, section, e) from None
            except OSError as e:
                raise explain(config, name, section, AttachError(str(e), e.errno)) from None
    except BaseException:
        for _, link in links:
            try:
                link.close()
            except Error as e:
                log.warning("detaching after a failed attach: %s", e)
        raise
    return links
