"""USDT probes: one uprobe per site, and the argument specs of <bpf/usdt.bpf.h>."""

from __future__ import annotations

from typing import Any

from ...errors import AttachError
from ...links import Link
from .. import uprobe
from ..links import MultiLink
from .common import log, no_extra, prog_name
from .uprobes import uprobe_event
from .usdt_args import pack_usdt_spec, parse_usdt_args


def attach_usdt(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                target: dict[str, Any]) -> Link:
    binary = target.pop("binary", None) or target.pop("path", None)
    provider = target.pop("provider", None)
    name = target.pop("name", None)
    usdt = target.pop("usdt", None)
    pid = target.pop("pid", None)
    cookie = int(target.pop("cookie", 0))
    no_extra("usdt", prog, target)
    if usdt is not None:
        provider, name = usdt if isinstance(usdt, (tuple, list)) else str(usdt).split(":", 1)
    if attach_to and (binary is None or provider is None):
        parts = attach_to.rsplit(":", 2)
        if len(parts) == 3:
            binary = binary or parts[0]
            provider, name = provider or parts[1], name or parts[2]
    if not binary or not provider or not name:
        raise AttachError(f"USDT program {prog_name(prog)} needs binary=, provider= and name= "
                          "(or a usdt/PATH:PROVIDER:NAME section)")
    path = uprobe.resolve_binary(str(binary), pid)
    sites = uprobe.find_usdt(path, provider, name)
    specs = USDTSpecs.for_program(prog)
    links: list[Link] = []
    release: list[Any] = []
    try:
        for p in sites:
            spec_id = 0
            if specs is not None:  # the program reads arguments through <bpf/usdt.bpf.h>
                args = parse_usdt_args(p.args)
                exec_type = uprobe.open_elf(path).type == uprobe.ET_EXEC
                spec_id = specs.add(pack_usdt_spec(args, cookie),
                                    p.address if exec_type else None)
                release.append(spec_id)
            links.append(uprobe_event(prog, path, p.offset, False, pid, p.semaphore_offset,
                                       spec_id if specs is not None else cookie,
                                       f"usdt {path}:{provider}:{name}@{p.address:#x}"))
    except BaseException:
        for link in links:
            link.close()
        if specs is not None:
            specs.release(release)
        raise
    link = MultiLink(prog, links, f"usdt {path}:{provider}:{name} ({len(links)} sites)")
    if specs is not None:
        link.on_close(lambda: specs.release(release))
    return link


class USDTSpecs:
    """The __bpf_usdt_specs / __bpf_usdt_ip_to_spec_id maps of a program using
    <bpf/usdt.bpf.h>, and which spec ids this process handed out."""

    _used: dict[int, set[int]] = {}  # specs map id -> ids in use

    def __init__(self, specs_map: Any, ip_map: Any):
        self.specs = specs_map
        self.ip_map = ip_map
        self.key = int(specs_map.id)
        self._ips: dict[int, int] = {}

    @classmethod
    def for_program(cls, prog: Any) -> USDTSpecs | None:
        from ..info import prog_info_from_fd
        from ..maps import open_map_by_id

        specs = ip_map = None
        for map_id in prog_info_from_fd(int(prog.fd)).map_ids:
            m = open_map_by_id(map_id)
            # kernel map names keep 15 characters: "__bpf_usdt_spec", "__bpf_usdt_ip_t"
            if m.name.startswith("__bpf_usdt_spec") and specs is None:
                specs = m
            elif m.name.startswith("__bpf_usdt_ip_t") and ip_map is None:
                ip_map = m
            else:
                m.close()
        if specs is None:
            if ip_map is not None:
                ip_map.close()
            return None
        return cls(specs, ip_map)

    def add(self, spec: bytes, ip: int | None) -> int:
        used = self._used.setdefault(self.key, set())
        free = next((i for i in range(self.specs.max_entries) if i not in used), None)
        if free is None:
            raise AttachError(f"USDT: all {self.specs.max_entries} argument specs of "
                              f"{self.specs.name} are in use (raise BPF_USDT_MAX_SPEC_CNT)")
        if len(spec) != self.specs.value_size:
            raise AttachError(f"USDT: {self.specs.name} has {self.specs.value_size}-byte "
                              f"values, not the {len(spec)} bytes of struct __bpf_usdt_spec")
        self.specs.update_bytes(free.to_bytes(4, "little"), spec)
        used.add(free)
        if ip is not None and self.ip_map is not None:
            self.ip_map.update_bytes(ip.to_bytes(8, "little"), free.to_bytes(4, "little"))
            self._ips[free] = ip
        return free

    def release(self, ids: list[int]) -> None:
        used = self._used.get(self.key, set())
        for i in ids:
            used.discard(i)
            ip = self._ips.pop(i, None)
            if ip is not None and self.ip_map is not None:
                try:
                    self.ip_map.delete_bytes(ip.to_bytes(8, "little"))
                except Exception as e:  # noqa: BLE001 - the map may be gone already
                    log.debug("USDT: dropping ip %#x: %s", ip, e)
