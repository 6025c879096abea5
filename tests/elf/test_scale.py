"""A big object (many programs sharing a deep chain of subprograms) reads in
linear time: a regression guard against quadratic linking."""

from __future__ import annotations

import ebpf


def _source(nfuncs: int, nprogs: int) -> str:
    out = ["#include <linux/bpf.h>", "#include <bpf/bpf_helpers.h>",
           'char LICENSE[] SEC("license") = "GPL";',
           "struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64);"
           " __type(key, __u32); __type(value, __u64); } m SEC(\".maps\");",
           "__u64 g[16];"]
    for i in reversed(range(nfuncs)):
        body = " ".join(f"x = x * {j + 3} + g[{j % 16}];" for j in range(12))
        tail = f"f{i + 1}(x ^ {i})" if i + 1 < nfuncs else "x"
        out.append(f"static __attribute__((noinline)) __u64 f{i}(__u64 x) {{ __u32 k = x & 63;"
                   f" __u64 *v = bpf_map_lookup_elem(&m, &k); if (v) *v += x; {body}"
                   f" return {tail}; }}")
    for p in range(nprogs):
        out.append(f'SEC("tp/sched/t{p}") int prog{p}(void *ctx) '
                   f"{{ return f{(p * 3) % nfuncs}({p}); }}")
    return "\n".join(out) + "\n"


def test_many_programs_sharing_subprograms(bpf_compile):
    path = bpf_compile(_source(120, 30), name="scale")
    spec = ebpf.ObjectSpec.from_file(path)
    total = sum(len(p.instructions) for p in spec.programs.values())
    assert len(spec.programs) == 30 and total > 50_000
    # program k reaches f(3k)..f(119): one copy of each, nothing else
    for p in range(30):
        funcs = [f.name for f in spec.programs[f"prog{p}"].func_infos]
        assert funcs == [f"prog{p}"] + [f"f{i}" for i in range((p * 3) % 120, 120)]
