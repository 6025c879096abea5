/* SPDX-License-Identifier: Apache-2.0 */
/* Argument-counting and dispatch macros shared by the ebpf bpf headers.
 * (Part of the ebpf Python package's libbpf-compatible headers.) */
#ifndef __EBPF_ARGS_H
#define __EBPF_ARGS_H

/* paste two tokens after expanding them */
#define ___bpf_concat(a, b) a ## b
/* call fn##n: the macro variant for n arguments */
#define ___bpf_apply(fn, n) ___bpf_concat(fn, n)
/* the 13th argument: picks from a list shifted by the arguments given */
#define ___bpf_nth(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _a, _b, _c, N, ...) N
/* number of arguments (0..12) */
#define ___bpf_narg(...) \
	___bpf_nth(_, ##__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
/* 0 when no arguments, N otherwise */
#define ___bpf_empty(...) \
	___bpf_nth(_, ##__VA_ARGS__, N, N, N, N, N, N, N, N, N, N, N, N, 0)

/* last argument of a list, and the list without it (1..10 items) */
#define ___bpf_last1(x) x
#define ___bpf_last2(a, x) x
#define ___bpf_last3(a, b, x) x
#define ___bpf_last4(a, b, c, x) x
#define ___bpf_last5(a, b, c, d, x) x
#define ___bpf_last6(a, b, c, d, e, x) x
#define ___bpf_last7(a, b, c, d, e, f, x) x
#define ___bpf_last8(a, b, c, d, e, f, g, x) x
#define ___bpf_last9(a, b, c, d, e, f, g, h, x) x
#define ___bpf_last10(a, b, c, d, e, f, g, h, i, x) x
#define ___bpf_last(...) ___bpf_apply(___bpf_last, ___bpf_narg(__VA_ARGS__))(__VA_ARGS__)

#define ___bpf_nolast2(a, x) a
#define ___bpf_nolast3(a, b, x) a, b
#define ___bpf_nolast4(a, b, c, x) a, b, c
#define ___bpf_nolast5(a, b, c, d, x) a, b, c, d
#define ___bpf_nolast6(a, b, c, d, e, x) a, b, c, d, e
#define ___bpf_nolast7(a, b, c, d, e, f, x) a, b, c, d, e, f
#define ___bpf_nolast8(a, b, c, d, e, f, g, x) a, b, c, d, e, f, g
#define ___bpf_nolast9(a, b, c, d, e, f, g, h, x) a, b, c, d, e, f, g, h
#define ___bpf_nolast10(a, b, c, d, e, f, g, h, i, x) a, b, c, d, e, f, g, h, i
#define ___bpf_nolast(...) ___bpf_apply(___bpf_nolast, ___bpf_narg(__VA_ARGS__))(__VA_ARGS__)

/* fill an array of u64 with the arguments (used by the printf-like macros) */
#define ___bpf_fill0(arr, p, x) do {} while (0)
#define ___bpf_fill1(arr, p, x) arr[p] = x
#define ___bpf_fill2(arr, p, x, args...) arr[p] = x; ___bpf_fill1(arr, p + 1, args)
#define ___bpf_fill3(arr, p, x, args...) arr[p] = x; ___bpf_fill2(arr, p + 1, args)
#define ___bpf_fill4(arr, p, x, args...) arr[p] = x; ___bpf_fill3(arr, p + 1, args)
#define ___bpf_fill5(arr, p, x, args...) arr[p] = x; ___bpf_fill4(arr, p + 1, args)
#define ___bpf_fill6(arr, p, x, args...) arr[p] = x; ___bpf_fill5(arr, p + 1, args)
#define ___bpf_fill7(arr, p, x, args...) arr[p] = x; ___bpf_fill6(arr, p + 1, args)
#define ___bpf_fill8(arr, p, x, args...) arr[p] = x; ___bpf_fill7(arr, p + 1, args)
#define ___bpf_fill9(arr, p, x, args...) arr[p] = x; ___bpf_fill8(arr, p + 1, args)
#define ___bpf_fill10(arr, p, x, args...) arr[p] = x; ___bpf_fill9(arr, p + 1, args)
#define ___bpf_fill11(arr, p, x, args...) arr[p] = x; ___bpf_fill10(arr, p + 1, args)
#define ___bpf_fill12(arr, p, x, args...) arr[p] = x; ___bpf_fill11(arr, p + 1, args)
#define ___bpf_fill(arr, args...) \
	___bpf_apply(___bpf_fill, ___bpf_narg(args))(arr, 0, args)

#endif /* __EBPF_ARGS_H */
