"""Fixtures of the attach tests: a small C program to put uprobes and USDT
probes on, compiled with gcc by the test session."""

from __future__ import annotations

import shutil
import subprocess

import pytest

TARGET_C = r"""
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int traced_add(int a, int b) { return a + b; }
__attribute__((noinline)) long traced_mul(long a, long b) { return a * b; }

unsigned short demo_tick_semaphore __attribute__((section(".probes")));

/* A USDT probe site written out by hand, the way sys/sdt.h lays it out. */
#define USDT_TICK(arg)                                                          \
    __asm__ __volatile__("990: nop\n"                                            \
        ".pushsection .note.stapsdt,\"?\",\"note\"\n"                            \
        ".balign 4\n"                                                            \
        ".4byte 992f-991f, 994f-993f, 3\n"                                       \
        "991: .asciz \"stapsdt\"\n"                                              \
        "992: .balign 4\n"                                                       \
        "993: .8byte 990b\n"                                                     \
        ".8byte _.stapsdt.base\n"                                                \
        ".8byte demo_tick_semaphore\n"                                           \
        ".asciz \"demo\"\n"                                                      \
        ".asciz \"tick\"\n"                                                      \
        ".asciz \"-4@%0\"\n"                                                     \
        "994: .balign 4\n"                                                       \
        ".popsection\n"                                                          \
        ".ifndef _.stapsdt.base\n"                                               \
        ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"  \
        ".weak _.stapsdt.base\n"                                                 \
        ".hidden _.stapsdt.base\n"                                               \
        "_.stapsdt.base: .space 1\n"                                             \
        ".size _.stapsdt.base, 1\n"                                              \
        ".popsection\n"                                                          \
        ".endif\n" :: "r"(arg))

/* A site with three arguments in a register, in memory and as a constant. */
#define USDT_ARGS(a, b)                                                         \
    __asm__ __volatile__("990: nop\n"                                            \
        ".pushsection .note.stapsdt,\"?\",\"note\"\n"                            \
        ".balign 4\n"                                                            \
        ".4byte 992f-991f, 994f-993f, 3\n"                                       \
        "991: .asciz \"stapsdt\"\n"                                              \
        "992: .balign 4\n"                                                       \
        "993: .8byte 990b\n"                                                     \
        ".8byte _.stapsdt.base\n"                                                \
        ".8byte 0\n"                                                             \
        ".asciz \"demo\"\n"                                                      \
        ".asciz \"args\"\n"                                                      \
        ".asciz \"-4@%0 8@%1 -2@%2\"\n"                                            \
        "994: .balign 4\n"                                                       \
        ".popsection\n"                                                          \
        ".ifndef _.stapsdt.base\n"                                               \
        ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"  \
        ".weak _.stapsdt.base\n"                                                 \
        ".hidden _.stapsdt.base\n"                                               \
        "_.stapsdt.base: .space 1\n"                                             \
        ".size _.stapsdt.base, 1\n"                                              \
        ".popsection\n"                                                          \
        ".endif\n" :: "r"(a), "m"(b), "i"(-7))

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    long acc = 0;
    for (int i = 0; i < n; i++) {
        acc += traced_add(i, 1);
        acc = traced_mul(acc, 1);
        USDT_TICK(i);
        volatile long in_memory = 1000L * i;
        USDT_ARGS(i, in_memory);
    }
    if (argc > 2)  /* "sem": also show the USDT semaphore (non-zero while probed) */
        printf("%ld %u\n", acc, (unsigned)demo_tick_semaphore);
    else
        printf("%ld\n", acc);
    return 0;
}
"""


@pytest.fixture(scope="session")
def target_binary(tmp_path_factory):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler for the uprobe target")
    d = tmp_path_factory.mktemp("uprobe_target")
    src = d / "target.c"
    src.write_text("#include <stdlib.h>\n" + TARGET_C)
    out = d / "target"
    subprocess.run([gcc, "-O1", "-g", "-o", str(out), str(src)], check=True)
    return str(out)
