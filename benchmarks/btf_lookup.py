#!/usr/bin/env python3
"""BTF lookup benchmark: in a fresh process, load the kernel's BTF, find
``struct task_struct`` and render it as C (target: under 0.5 s in total), then
time a full ``vmlinux.h``; bpftool's time for the same header is shown when
bpftool is installed.

    python benchmarks/btf_lookup.py [--json]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

CHILD = r"""
import json, time
t0 = time.perf_counter()
from ebpf import btf
spec = btf.load_kernel_btf()
t1 = time.perf_counter()
ts = spec.type_by_name("task_struct", kind="struct")
t2 = time.perf_counter()
text = btf.render_c(ts, spec)
t3 = time.perf_counter()
header = btf.vmlinux_h(spec)
t4 = time.perf_counter()
print(json.dumps({"types": len(spec), "load_s": t1 - t0, "lookup_s": t2 - t1,
                  "render_task_struct_s": t3 - t2, "first_lookup_total_s": t3 - t0,
                  "vmlinux_h_s": t4 - t3, "vmlinux_h_bytes": len(header),
                  "task_struct_lines": text.count("\n") + 1}))
"""


def main() -> int:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)
        return 1
    res = json.loads(out.stdout)
    bpftool = shutil.which("bpftool")
    if bpftool:
        t = time.perf_counter()
        r = subprocess.run([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"],
                           capture_output=True)
        if r.returncode == 0:
            res["bpftool_vmlinux_h_s"] = time.perf_counter() - t
    res["target_met"] = res["first_lookup_total_s"] < 0.5
    if "--json" in sys.argv:
        print(json.dumps(res, indent=2))
        return 0
    print(f"kernel BTF types:                   {res['types']}")
    print(f"load_kernel_btf():                  {res['load_s'] * 1000:8.1f} ms")
    print(f"type_by_name('task_struct'):        {res['lookup_s'] * 1000:8.1f} ms")
    print(f"render_c(task_struct):              {res['render_task_struct_s'] * 1000:8.1f} ms")
    print(f"total (import + load + find + C):   {res['first_lookup_total_s'] * 1000:8.1f} ms "
          f"(target < 500 ms: {'met' if res['target_met'] else 'MISSED'})")
    print(f"full vmlinux.h:                     {res['vmlinux_h_s'] * 1000:8.1f} ms "
          f"({res['vmlinux_h_bytes'] // 1024} KiB)")
    if "bpftool_vmlinux_h_s" in res:
        print(f"bpftool btf dump format c:          {res['bpftool_vmlinux_h_s'] * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
