// String kfuncs (Linux 6.17+): bpf_strlen, bpf_strcmp, bpf_strchr, bpf_strstr, ...
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_strlen(const char *s) __ksym __weak;
extern int bpf_strnlen(const char *s, size_t count) __ksym __weak;
extern int bpf_strcmp(const char *s1, const char *s2) __ksym __weak;
extern int bpf_strcasecmp(const char *s1, const char *s2) __ksym __weak;
extern int bpf_strchr(const char *s, char c) __ksym __weak;
extern int bpf_strnchr(const char *s, size_t count, char c) __ksym __weak;
extern int bpf_strrchr(const char *s, int c) __ksym __weak;
extern int bpf_strstr(const char *s1, const char *s2) __ksym __weak;
extern int bpf_strnstr(const char *s1, const char *s2, size_t len) __ksym __weak;

char hay[32] = "comm=sshd pid=42 sshd";
char word[8] = "sshd";
char upper[8] = "SSHD";
char high[4] = "\xe9t";
int r[24];

SEC("xdp")
int strings(struct xdp_md *ctx)
{
	r[0] = bpf_strlen(hay);
	r[1] = bpf_strnlen(hay, 4);
	r[2] = bpf_strcmp(word, "sshd");
	r[3] = bpf_strcmp(word, "ssh");
	r[4] = bpf_strcmp(word, "sshe");
	r[5] = bpf_strcasecmp(word, upper);
	r[6] = bpf_strchr(hay, '=');
	r[7] = bpf_strchr(hay, 'x');
	r[8] = bpf_strchr(hay, 0);
	r[9] = bpf_strnchr(hay, 3, '=');
	r[10] = bpf_strrchr(hay, 's');
	r[11] = bpf_strstr(hay, word);
	r[12] = bpf_strstr(hay, "pid=");
	r[13] = bpf_strstr(hay, "nope");
	r[14] = bpf_strstr(hay, "");
	r[15] = bpf_strnstr(hay, word, 8);
	r[16] = bpf_strnstr(hay, word, 9);
	r[17] = bpf_strnstr(hay, "comm", 4);
	r[18] = bpf_strlen((void *)0);
	r[19] = bpf_strcmp(high, "a");
	r[20] = bpf_strlen((void *)0xfffffffffffff000ULL);
	r[21] = bpf_strstr(hay, "d pid");
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
