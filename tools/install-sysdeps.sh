#!/bin/sh
# Best-effort install of optional system tools. Never fails the build.
# clang-19/llvm-19: second compiler and llvm-objdump oracle for tests; bpftool: benchmark
# comparison only; tmux: driving `ebpf run` in a real terminal in tests.
# Stacks (docs/stacks.md): gcc + binutils (workloads with known stacks, objcopy for
# stripped copies, addr2line and c++filt as oracles), chromium (renders the flame
# graphs headless in tests), bpftrace (`make bench` compares profiles with it).
need=""
command -v clang-19 >/dev/null 2>&1 || need="$need clang-19"
[ -x /usr/lib/llvm-19/bin/llvm-objdump ] || need="$need llvm-19"
command -v bpftool >/dev/null 2>&1 || need="$need bpftool"
command -v tmux >/dev/null 2>&1 || need="$need tmux"
command -v prometheus >/dev/null 2>&1 || need="$need prometheus"  # ebpf export end-to-end test
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v objcopy >/dev/null 2>&1 || need="$need binutils"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v bpftrace >/dev/null 2>&1 || need="$need bpftrace"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing optional system tools:$need"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need) >/dev/null 2>&1 \
        || echo "note: could not install$need (optional)"
fi
exit 0
