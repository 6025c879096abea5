/* SPDX-License-Identifier: Apache-2.0 */
/* Part of the ebpf Python package. glibc's <gnu/stubs.h> picks stubs-32.h for
 * any target without __x86_64__ (BPF included), and that file only exists with
 * 32-bit multilib packages. UAPI headers such as <linux/if.h> pull it in via
 * <sys/socket.h>. It only lists unimplemented libc functions, which a BPF
 * program never calls, so an empty stand-in (searched last) is enough. */
