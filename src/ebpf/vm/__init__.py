"""The user-space runtime: run eBPF programs in-process, without a kernel.

``ebpf.load(obj, backend="vm")`` gives an :class:`ebpf.Object` whose programs run
here: a reference interpreter (:mod:`.interpreter`) and a translator to Python
(:mod:`.compiler`, the default executor), maps with the kernel's semantics
(:mod:`.maps`), helpers (:mod:`.helpers`), program contexts and ``test_run``
(:mod:`.contexts`), and hooks that feed events (:mod:`.hooks`).
"""
