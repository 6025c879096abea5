"""Workloads with known stacks (C sources compiled by the fixtures in conftest.py),
started paused so that tools attach first; and a headless Chromium to render
flame graphs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: each waits for a line on stdin, then works; argv[1] = seconds or count
WORKLOADS = {
    "hot": r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
volatile unsigned long sink;
__attribute__((noinline)) void spin_here(unsigned long n)
{ for (unsigned long i = 0; i < n; i++) sink += i * 7; }
__attribute__((noinline)) void outer(unsigned long n) { spin_here(n); sink++; }
int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    char go[8];
    struct timespec t0, t;
    if (read(0, go, sizeof(go)) <= 0) return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        outer(200000);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
    return 0;
}
""",
    "sleeper": r"""
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
__attribute__((noinline)) void sleep_here(long ns)
{ struct timespec ts = {0, ns}; nanosleep(&ts, NULL); }
__attribute__((noinline)) void waiter(long ns) { sleep_here(ns); }
int main(int argc, char **argv)
{
    int loops = argc > 1 ? atoi(argv[1]) : 100;
    char go[8];
    if (read(0, go, sizeof(go)) <= 0) return 1;
    for (int i = 0; i < loops; i++) waiter(10 * 1000 * 1000);
    return 0;
}
""",
    "calls": r"""
#include <unistd.h>
volatile int sink;
__attribute__((noinline)) void target_fn(int x) { sink += x; }
__attribute__((noinline)) void caller_a(void) { for (int i = 0; i < 3; i++) target_fn(i); }
__attribute__((noinline)) void caller_b(void) { for (int i = 0; i < 5; i++) target_fn(i); }
int main(void)
{
    char go[8];
    if (read(0, go, sizeof(go)) <= 0) return 1;
    caller_a();
    caller_b();
    caller_a();
    return 0;
}
""",
    "syscaller": r"""
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
__attribute__((noinline)) void write_lots(int fd)
{ char buf[4096] = {0}; for (int i = 0; i < 2000; i++) write(fd, buf, sizeof(buf)); }
int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    char go[8];
    struct timespec t0, t;
    int fd = open("/dev/null", O_WRONLY);
    if (read(0, go, sizeof(go)) <= 0) return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        write_lots(fd);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
    return 0;
}
""",
}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is needed (tools/install-sysdeps.sh installs it)")
    return path


class Workload:
    """A workload process started paused: ``go()`` lets it run."""

    def __init__(self, exe: Path, *args: str):
        self.proc = subprocess.Popen([str(exe), *args], stdin=subprocess.PIPE)
        self.pid = self.proc.pid

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def __enter__(self) -> Workload:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdin:
            self.proc.stdin.close()


def chromium_dom(html: Path, tmp: Path, fragment: str = "") -> str:
    """The DOM of ``html`` (with ``#fragment``) after its scripts ran, from
    headless Chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is needed (tools/install-sysdeps.sh installs it)")
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(tmp))
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--no-first-run",
                        "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--virtual-time-budget=3000",
                        "--dump-dom", html.as_uri() + (f"#{fragment}" if fragment else "")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout
