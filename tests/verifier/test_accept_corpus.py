"""(a) Real programs: every program the test suite and the examples build.
Ours must accept ≥ 97 % of those the kernel accepts; the programs ours rejects
are listed here with the reason (the kernel rejects each of them as well:
tests/verifier/test_against_kernel.py checks that)."""

from __future__ import annotations

from ebpf.spec import ObjectSpec
from ebpf.verifier import verify_program

#: (object file stem, program) -> the rejection; the kernel refuses these too
EXPECTED_REJECTIONS = {
    ("tests__kernel__progs__rejected.bpf.c", "no_bounds_check"): "invalid access to packet",
    # CO-RE relocation against a field the kernel lacks: the poisoned call is reached
    ("tests__kernel__progs__core.bpf.c", "core_missing"): "invalid func unknown#195896080",
    ("tests__vm__progs__core_flavors.c", "unguarded"): "invalid func unknown#195896080",
}


def _verdicts(objects):
    out = {}
    for path in objects:
        spec = ObjectSpec.from_file(path)
        for name, ps in spec.programs.items():
            out[(path.stem, name)] = verify_program(ps, spec.maps, log_level=0)
    return out


def test_real_programs_accepted(corpus_objects):
    results = _verdicts(corpus_objects)
    rejected = {k: r.error.splitlines()[0] for k, r in results.items() if not r.accepted}
    unexpected = {k: v for k, v in rejected.items() if k not in EXPECTED_REJECTIONS}
    assert not unexpected, f"rejected real programs: {unexpected}"
    for k, reason in EXPECTED_REJECTIONS.items():
        assert k in rejected and reason in rejected[k], (k, rejected.get(k))
    considered = len(results) - len(EXPECTED_REJECTIONS)
    accepted = sum(r.accepted for r in results.values())
    assert considered >= 100
    assert accepted / considered >= 0.97


#: programs our verifier accepts that the vm refuses to load, with why: the kernel
#: refuses them too (a kfunc no kernel has; the test loads them to see that)
VM_REFUSALS = {
    ("tests__vm__progs__autoload.c", "also_missing_kfunc"): "bpf_vm_test_no_such_kfunc",
    ("tests__vm__progs__autoload.c", "uses_missing_kfunc"): "bpf_vm_test_no_such_kfunc",
}
#: refused where the host's kallsyms lists no data symbols (CONFIG_KALLSYMS_ALL off),
#: by the kernel backend as well
HOST_REFUSALS = {("tests__elf__progs__externs.bpf.c", "handle"): "bpf_link_fops"}


def test_real_programs_load_in_the_vm(corpus_objects):
    """Accepted by our verifier *and* loaded by the vm (the interpreter: loading
    is what is measured; the executors share it)."""
    import warnings

    import ebpf

    refused = {}
    considered = loaded = 0
    for path in corpus_objects:
        spec = ObjectSpec.from_file(path)
        for name in spec.programs:
            if (path.stem, name) in EXPECTED_REJECTIONS:
                continue
            considered += 1
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with ebpf.load(path, backend="vm", programs=[name], verify=False,
                                   executor="interpreter"):
                        loaded += 1
            except ebpf.Error as e:
                refused[(path.stem, name)] = str(e)
    unexpected = {k: v for k, v in refused.items()
                  if not (k in VM_REFUSALS and VM_REFUSALS[k] in v)
                  and not (k in HOST_REFUSALS and HOST_REFUSALS[k] in v)}
    assert not unexpected, f"real programs the vm does not load: {unexpected}"
    kernel_accepts = considered - len(VM_REFUSALS)
    assert loaded / kernel_accepts >= 0.97, (loaded, kernel_accepts, refused)
