"""The Linux backend: bpf(2) maps, programs, objects, pinning, introspection.

Modules: :mod:`.sys` (the system call and attr layouts), :mod:`.probes` (feature
probes), :mod:`.maps`, :mod:`.programs`, :mod:`.objects`, :mod:`.info`; attach
kinds, links, ring and perf buffers live next to them.
Nothing here touches the kernel at import time.
"""
