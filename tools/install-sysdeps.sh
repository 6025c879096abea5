#!/bin/sh
# System packages the test suite and the tools use, installed with apt-get (Debian).
# Run by `make sysdeps` (and so by .ci/run). Fails loudly (non-zero exit, the
# missing commands named) when something required is missing and cannot be installed.
#
#   clang-19, llvm-19    C compiler (BPF target), llvm-mc/llvm-objdump 19 oracles
#   llvm                 llvm-objdump 14 (the distribution default) as a second oracle
#   gcc-bpf              GCC's BPF target (bpf-gcc): the second compiler
#   gcc, binutils        programs the tests build (uprobe/USDT targets, workloads with
#                        known stacks); nm, objcopy (stripped copies), addr2line and
#                        c++filt as oracles of the symbolizer
#   chromium             renders flame graphs headless in the stacks tests
#   bpftool              libbpf's loader and dumper, compared against in tests and bench
#   bpftrace             third-party BPF programs loaded next to ours; `make bench`
#                        compares profiles with it
#   prometheus           scraping `ebpf export` end to end
#   tmux                 driving `ebpf run` in a real terminal
#   iproute2             ip/tc: the tests' private network namespaces and veth pairs
#   util-linux, mount    unshare (private mount namespaces), mount, losetup (loop devices
#                        for the block I/O tool tests)
#   linux-libc-dev       linux/bpf.h: drift tests of the generated UAPI constants
set -eu

# command-or-file to check | Debian package that provides it
REQUIRED="
clang-19 clang-19
/usr/lib/llvm-19/bin/llvm-objdump llvm-19
/usr/lib/llvm-19/bin/llvm-mc llvm-19
/usr/bin/llvm-objdump llvm
bpf-gcc gcc-bpf
gcc gcc
nm binutils
objcopy binutils
addr2line binutils
c++filt binutils
chromium chromium
bpftool bpftool
bpftrace bpftrace
prometheus prometheus
tmux tmux
ip iproute2
tc iproute2
unshare util-linux
mount mount
losetup mount
/usr/include/linux/bpf.h linux-libc-dev
"

have() {
    case "$1" in
        /*) [ -e "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

missing() {
    echo "$REQUIRED" | while read -r what pkg; do
        [ -n "$what" ] || continue
        have "$what" || echo "$what:$pkg"
    done
}

need=$(missing)
[ -z "$need" ] && exit 0

pkgs=$(for m in $need; do echo "${m#*:}"; done | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-sysdeps: missing: $(for m in $need; do printf '%s ' "${m%%:*}"; done)" >&2
    echo "install-sysdeps: as root on Debian, run: apt-get install $pkgs" >&2
    exit 1
fi

echo "install-sysdeps: installing $pkgs"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
    echo "install-sysdeps: apt-get update failed" >&2
    exit 1
fi
# shellcheck disable=SC2086  # one word per package
if ! apt-get install -y -qq $pkgs; then
    echo "install-sysdeps: apt-get install $pkgs failed" >&2
    exit 1
fi

still=$(missing)
if [ -n "$still" ]; then
    echo "install-sysdeps: still missing after install: $still" >&2
    exit 1
fi
echo "install-sysdeps: done"
