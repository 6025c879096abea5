"""perf_event programs: one perf event per CPU."""

from __future__ import annotations

from typing import Any

from ...errors import AttachError
from ...links import Link
from .. import perf
from ..links import MultiLink
from .common import no_extra, perf_link, prog_name


def attach_perf_event(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                      target: dict[str, Any]) -> Link:
    ev = target.pop("perf_event", None)
    cpu = target.pop("cpu", None)
    pid = target.pop("pid", None)
    cookie = int(target.pop("cookie", 0))
    no_extra("perf_event", prog, target)
    if not isinstance(ev, dict):
        raise AttachError(f"perf_event program {prog_name(prog)} needs perf_event=dict(type=..., "
                          "config=..., sample_period=N or sample_freq=F)")
    ev = dict(ev)
    etype = perf.parse_event_type(ev.pop("type", perf.TYPE_SOFTWARE))
    config = perf.parse_event_config(etype, ev.pop("config", 0))
    attr = perf.PerfEventAttr(type=etype, config=config)
    attr.set_sampling(int(ev.pop("sample_period", 0)), int(ev.pop("sample_freq", 0)))
    if not attr.sample_period:
        raise AttachError(f"perf_event program {prog_name(prog)}: give sample_period= or "
                          "sample_freq= (a zero period never fires)")
    for key in ("exclude_kernel", "exclude_user", "exclude_hv", "inherit"):
        if ev.pop(key, False):
            attr.flags |= getattr(perf, "FLAG_" + key.upper())
    if "config1" in ev:
        attr.config1 = int(ev.pop("config1"))
    if ev:
        raise AttachError(f"perf_event program {prog_name(prog)}: unknown perf_event keys "
                          f"{', '.join(sorted(ev))}")
    if cpu is None:
        cpus = perf.online_cpus() if pid is None else [-1]
    elif isinstance(cpu, (list, tuple, set)):
        cpus = sorted(cpu)
    else:
        cpus = [int(cpu)]
    links: list[Link] = []
    try:
        for c in cpus:
            fd = perf.perf_event_open(attr, pid=-1 if pid is None else int(pid), cpu=c,
                                      what=f"perf event type={etype} config={config}")
            links.append(perf_link(prog, fd, f"perf_event {etype}:{config} cpu {c}", cookie))
    except BaseException:
        for link in links:
            link.close()
        raise
    if len(links) == 1:
        return links[0]
    return MultiLink(prog, links, f"perf_event {etype}:{config} on {len(links)} CPUs")
