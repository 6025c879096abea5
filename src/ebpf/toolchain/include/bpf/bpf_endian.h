/* SPDX-License-Identifier: Apache-2.0 */
/* <bpf/bpf_endian.h> of the ebpf Python package: byte-order conversion for
 * BPF programs. Each macro folds to a constant when its argument is one (so it
 * can be used in case labels and initialisers) and otherwise becomes a single
 * BPF byte-swap instruction. */
#ifndef __BPF_ENDIAN__
#define __BPF_ENDIAN__

/* byte swaps written with shifts and masks: constant expressions */
#define ___bpf_swab16(x)						\
	((unsigned short)((((unsigned short)(x) & (unsigned short)0x00ffU) << 8) |		\
		 (((unsigned short)(x) & (unsigned short)0xff00U) >> 8)))
#define ___bpf_swab32(x)						\
	((unsigned int)((((unsigned int)(x) & (unsigned int)0x000000ffUL) << 24) |		\
		 (((unsigned int)(x) & (unsigned int)0x0000ff00UL) << 8) |		\
		 (((unsigned int)(x) & (unsigned int)0x00ff0000UL) >> 8) |		\
		 (((unsigned int)(x) & (unsigned int)0xff000000UL) >> 24)))
#define ___bpf_swab64(x)						\
	((unsigned long long)((((unsigned long long)(x) & (unsigned long long)0x00000000000000ffULL) << 56) |	\
		 (((unsigned long long)(x) & (unsigned long long)0x000000000000ff00ULL) << 40) |	\
		 (((unsigned long long)(x) & (unsigned long long)0x0000000000ff0000ULL) << 24) |	\
		 (((unsigned long long)(x) & (unsigned long long)0x00000000ff000000ULL) << 8) |	\
		 (((unsigned long long)(x) & (unsigned long long)0x000000ff00000000ULL) >> 8) |	\
		 (((unsigned long long)(x) & (unsigned long long)0x0000ff0000000000ULL) >> 24) |	\
		 (((unsigned long long)(x) & (unsigned long long)0x00ff000000000000ULL) >> 40) |	\
		 (((unsigned long long)(x) & (unsigned long long)0xff00000000000000ULL) >> 56)))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
# define __bpf_ntohs(x)			__builtin_bswap16(x)
# define __bpf_htons(x)			__builtin_bswap16(x)
# define __bpf_constant_ntohs(x)	___bpf_swab16(x)
# define __bpf_constant_htons(x)	___bpf_swab16(x)
# define __bpf_ntohl(x)			__builtin_bswap32(x)
# define __bpf_htonl(x)			__builtin_bswap32(x)
# define __bpf_constant_ntohl(x)	___bpf_swab32(x)
# define __bpf_constant_htonl(x)	___bpf_swab32(x)
# define __bpf_be64_to_cpu(x)		__builtin_bswap64(x)
# define __bpf_cpu_to_be64(x)		__builtin_bswap64(x)
# define __bpf_constant_be64_to_cpu(x)	___bpf_swab64(x)
# define __bpf_constant_cpu_to_be64(x)	___bpf_swab64(x)
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
# define __bpf_ntohs(x)			(x)
# define __bpf_htons(x)			(x)
# define __bpf_constant_ntohs(x)	(x)
# define __bpf_constant_htons(x)	(x)
# define __bpf_ntohl(x)			(x)
# define __bpf_htonl(x)			(x)
# define __bpf_constant_ntohl(x)	(x)
# define __bpf_constant_htonl(x)	(x)
# define __bpf_be64_to_cpu(x)		(x)
# define __bpf_cpu_to_be64(x)		(x)
# define __bpf_constant_be64_to_cpu(x)	(x)
# define __bpf_constant_cpu_to_be64(x)	(x)
#else
# error "bpf_endian.h: unknown byte order (__BYTE_ORDER__)"
#endif

#define bpf_htons(x)							\
	(__builtin_constant_p(x) ? __bpf_constant_htons(x) : __bpf_htons(x))
#define bpf_ntohs(x)							\
	(__builtin_constant_p(x) ? __bpf_constant_ntohs(x) : __bpf_ntohs(x))
#define bpf_htonl(x)							\
	(__builtin_constant_p(x) ? __bpf_constant_htonl(x) : __bpf_htonl(x))
#define bpf_ntohl(x)							\
	(__builtin_constant_p(x) ? __bpf_constant_ntohl(x) : __bpf_ntohl(x))
#define bpf_cpu_to_be64(x)						\
	(__builtin_constant_p(x) ? __bpf_constant_cpu_to_be64(x) : __bpf_cpu_to_be64(x))
#define bpf_be64_to_cpu(x)						\
	(__builtin_constant_p(x) ? __bpf_constant_be64_to_cpu(x) : __bpf_be64_to_cpu(x))

#endif /* __BPF_ENDIAN__ */
