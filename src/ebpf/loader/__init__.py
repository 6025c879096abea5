"""What every backend does before its first syscall, once for all backends
(cilium/ebpf's ``collectionLoader`` is the model); a backend supplies only the
primitives (create a map, write its fd or handle into an instruction, write a
slot).

:mod:`.selection` which programs load and in what order; :mod:`.constants` the
initial bytes of global-data maps (``constants=``) and ``.kconfig``;
:mod:`.kconfig` the values of ``.kconfig`` externs; :mod:`.maps` the map-spec
checks; :mod:`.types` a spec's map or program type as its enum member;
:mod:`.core` CO-RE against a target; :mod:`.relocate` the walk over a
program's references (maps, global data, kconfig, ksyms, kfuncs);
:mod:`.slots` program arrays and maps of maps filled once everything exists.
"""
