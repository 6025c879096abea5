"""The symbolizer: kernel and user addresses to :class:`Frame` objects, with caches.

>>> from ebpf.symbols import Symbolizer
>>> sym = Symbolizer()
>>> import os
>>> sym.remember(os.getpid())           # snapshot the maps now (exited processes resolve later)
True

Files are cached by identity (device, inode, mtime), so a library mapped by a
hundred processes is read once; process maps are snapshotted the first time a
pid is seen (or by :meth:`Symbolizer.remember`) and kept after it exits.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence

from ..errors import Error
from .debugfile import DEFAULT_DEBUG_DIRS
from .demangle import demangle as _demangle
from .elfsyms import ElfSymbols
from .frame import UNKNOWN, Frame
from .kallsyms import KERNEL_MODULE, KernelSymbols, kernel_symbols
from .perfmap import PerfMap, read_perf_map
from .procmaps import MapEntry, ProcessGoneError, ProcessMaps

log = logging.getLogger(__name__)


class Symbolizer:
    """Turns stack addresses into frames.

    ``debug_dirs``: where separate debug files are looked for (by build id and
    debug link); ``demangle``: C++/Rust names demangled; ``dwarf``: file:line
    and inlined frames from DWARF (needs pyelftools; ignored without it);
    ``kallsyms``: a :class:`KernelSymbols` to use instead of the running kernel's.
    """

    def __init__(self, *, debug_dirs: Sequence[str] = DEFAULT_DEBUG_DIRS,
                 demangle: bool = True, dwarf: bool = False,
                 kallsyms: KernelSymbols | None = None, perf_map_dir: str = "/tmp"):
        self.debug_dirs = tuple(debug_dirs)
        self.demangle = demangle
        self.dwarf = dwarf
        self.perf_map_dir = perf_map_dir
        self._kallsyms = kallsyms
        self._lock = threading.RLock()
        self._files: dict[tuple[int, int, int], ElfSymbols | None] = {}
        self._by_build_id: dict[bytes, ElfSymbols] = {}
        self._procs: dict[int, ProcessMaps | None] = {}
        self._perf_maps: dict[int, PerfMap | None] = {}
        self._mapped: dict[tuple[int, int], ElfSymbols | None] = {}
        self._names: dict[str, str] = {}

    # ---- kernel ---------------------------------------------------------------
    @property
    def kallsyms(self) -> KernelSymbols:
        if self._kallsyms is None:
            self._kallsyms = kernel_symbols()
        return self._kallsyms

    def kernel_frame(self, address: int, *, return_address: bool = False) -> Frame:
        """The kernel function at ``address`` (``return_address``: the address
        follows a call, so the call itself is looked up)."""
        sym = self.kallsyms.lookup(address - 1 if return_address else address)
        if sym is None:
            return Frame(address, UNKNOWN, KERNEL_MODULE, kernel=True)
        return Frame(address, sym.name, sym.module, address - sym.address, kernel=True)

    def kernel_stack(self, addresses: Iterable[int]) -> list[Frame]:
        """Frames for a kernel stack, innermost first."""
        return [self.kernel_frame(a, return_address=i > 0) for i, a in enumerate(addresses)]

    # ---- processes ------------------------------------------------------------
    def remember(self, pid: int) -> bool:
        """Snapshot ``pid``'s memory map and open its files now, so its addresses
        still resolve after it exits. False when the process is already gone."""
        with self._lock:
            return self._process(pid, refresh=True) is not None

    def forget(self, pid: int) -> None:
        with self._lock:
            self._procs.pop(pid, None)
            self._perf_maps.pop(pid, None)

    def _process(self, pid: int, refresh: bool = False) -> ProcessMaps | None:
        if pid in self._procs and not refresh:
            return self._procs[pid]
        known = self._procs.get(pid)
        try:
            pm: ProcessMaps | None = ProcessMaps.read(pid)
            if pm is not None and not pm.entries and known is not None:
                pm = known  # a zombie's maps read empty: keep what we knew
        except ProcessGoneError:
            pm = known
        except Error as e:
            log.info("pid %d: %s", pid, e)
            pm = known
        if pm is not None:
            for entry in pm.entries:
                if entry.is_file:
                    self._file_for(pm, entry)
        self._procs[pid] = pm
        if refresh or pid not in self._perf_maps:
            pmap = read_perf_map(pid, self.perf_map_dir)
            if pmap is not None or pid not in self._perf_maps:
                self._perf_maps[pid] = pmap
        return pm

    def _file_for(self, pm: ProcessMaps, entry: MapEntry) -> ElfSymbols | None:
        cache_key = (pm.pid, entry.start)
        if cache_key in self._mapped:
            return self._mapped[cache_key]
        path = pm.host_path(entry)
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_dev, st.st_ino, st.st_mtime_ns)
        if key not in self._files:
            root = _container_root(pm.pid)
            try:
                syms: ElfSymbols | None = ElfSymbols(path, display_path=entry.path.removesuffix(
                    " (deleted)"), debug_dirs=self.debug_dirs, root=root)
            except Error as e:
                log.debug("%s: no symbols: %s", entry.path, e)
                syms = None
            self._files[key] = syms
            if syms is not None and syms.build_id:
                self._by_build_id.setdefault(syms.build_id, syms)
        self._mapped[cache_key] = self._files[key]
        return self._files[key]

    def user_frame(self, pid: int, address: int, *, return_address: bool = False) -> Frame:
        """The function at ``address`` in process ``pid``."""
        with self._lock:
            pm = self._process(pid)
            look = address - 1 if return_address else address
            entry = pm.find(look) if pm is not None else None
            if pm is not None and entry is not None and entry.is_file:
                syms = self._file_for(pm, entry)
                module = entry.path.removesuffix(" (deleted)")
                if syms is not None:
                    hit = syms.lookup_offset(entry.file_offset(look))
                    if hit is not None:
                        name, off = hit
                        return self._frame(address, name, module, off + (look != address), syms)
                return Frame(address, UNKNOWN, module)
            pmap = self._perf_maps.get(pid)
            if pmap is not None:
                hit = pmap.lookup(look)
                if hit is not None:
                    return Frame(address, hit[0], "[perf-map]", hit[1] + (look != address))
            return Frame(address, UNKNOWN, entry.path if entry is not None else "")

    def user_stack(self, pid: int, addresses: Iterable[int]) -> list[Frame]:
        """Frames for a user stack of ``pid``, innermost first."""
        out: list[Frame] = []
        for i, a in enumerate(addresses):
            out.extend(self._expand(pid, self.user_frame(pid, a, return_address=i > 0), i > 0))
        return out

    # ---- build-id stacks ------------------------------------------------------
    def add_file(self, path: str) -> ElfSymbols | None:
        """Make ``path``'s symbols known by its build id (for build-id stacks of
        processes the symbolizer never saw)."""
        with self._lock:
            try:
                syms = ElfSymbols(path, debug_dirs=self.debug_dirs)
            except Error as e:
                log.info("%s: %s", path, e)
                return None
            if syms.build_id:
                self._by_build_id[syms.build_id] = syms
            return syms

    def build_id_frame(self, build_id: bytes, file_offset: int, *,
                       return_address: bool = False) -> Frame:
        """The function at ``file_offset`` in the file with GNU build id ``build_id``
        (a ``BPF_F_USER_BUILD_ID`` frame)."""
        with self._lock:
            syms = self._by_build_id.get(build_id)
            look = file_offset - 1 if return_address else file_offset
            if syms is None:
                return Frame(file_offset, UNKNOWN, f"build-id:{build_id.hex()}")
            hit = syms.lookup_offset(look)
            if hit is None:
                return Frame(file_offset, UNKNOWN, syms.display_path)
            return self._frame(file_offset, hit[0], syms.display_path,
                               hit[1] + (look != file_offset), syms)

    # ---- naming ---------------------------------------------------------------
    def _frame(self, address: int, name: str, module: str, offset: int,
               syms: ElfSymbols) -> Frame:
        if self.demangle:
            pretty = self._names.get(name)
            if pretty is None:
                pretty = self._names[name] = _demangle(name)
            name = pretty
        return Frame(address, name, module, offset)

    def _expand(self, pid: int, frame: Frame, return_address: bool) -> list[Frame]:
        """``frame`` preceded by the frames DWARF says were inlined at its address
        (when ``dwarf`` is on and the file has line information)."""
        if not self.dwarf or not frame.resolved or frame.kernel:
            return [frame]
        from .dwarf import expand

        with self._lock:
            pm = self._procs.get(pid)
            look = frame.address - 1 if return_address else frame.address
            entry = pm.find(look) if pm is not None else None
            syms = self._mapped.get((pid, entry.start)) if entry is not None else None
        if syms is None or entry is None:
            return [frame]
        vaddr = syms.vaddr_of_offset(entry.file_offset(look))
        return [frame] if vaddr is None else expand(syms, vaddr, frame, self._names_of)

    def _names_of(self, name: str) -> str:
        return _demangle(name) if self.demangle else name


def _container_root(pid: int) -> str:
    """``/proc/PID/root`` when the process sees another root than ours (a
    container), else "" (also when it has gone)."""
    path = f"/proc/{pid}/root"
    try:
        return path if os.stat(path).st_ino != os.stat("/").st_ino or \
            os.stat(path).st_dev != os.stat("/").st_dev else ""
    except OSError:
        return ""


__all__ = ["Symbolizer"]
