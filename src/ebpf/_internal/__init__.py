"""One home per host fact and per low-level idiom, shared by every layer.

:mod:`.ints` sign extension and masks; :mod:`.host` what the machine says
(CPUs, kernel version and config; kernel symbols live in
:mod:`ebpf.symbols.kallsyms`, lockdown in :mod:`ebpf.kernel.lockdown`), each with a fallback off
Linux; :mod:`.libc` the C library through ctypes. Nothing here imports another
part of the package.
"""
