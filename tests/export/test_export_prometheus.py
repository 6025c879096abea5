"""End to end on the kernel: `ebpf export` (the DaemonSet's command) scraped by a real
Prometheus server, a known workload from this test's own children (told apart by
their command names), values read back through Prometheus's HTTP API; then SIGTERM
or SIGINT leaves nothing attached."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from test_export_deploy import exporter_command

pytestmark = pytest.mark.kernel

CONFIGS = Path(__file__).with_name("configs")
EBPF = str(Path(sys.executable).with_name("ebpf"))
N_EXEC, N_SLEEP, N_SYSCALL = 7, 9, 13


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_for(what: str, check, timeout: float, proc: subprocess.Popen | None = None,
             log: Path | None = None):
    """Poll ``check()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited {proc.returncode}: "
                        f"{log.read_text() if log else ''}")
        try:
            last = check()
            if last:
                return last
        except OSError as e:
            last = e
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what} (last: {last!r}) "
                f"{log.read_text()[-3000:] if log else ''}")


def start_exporter(tmp_path: Path, configs: list[str], port: int):
    log = tmp_path / "exporter.log"
    cmd = exporter_command(EBPF, configs, f"127.0.0.1:{port}")
    with open(log, "w") as err:  # the child has its own copy
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    wait_for("the exporter to serve /metrics",
             lambda: b"ebpf_exporter_enabled_configs" in
             http_get(f"http://127.0.0.1:{port}/metrics"), 300, proc, log)
    return proc, log


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the exporter did not stop on a signal")
    return proc.returncode


def program_ids(metrics_text: str) -> set[int]:
    ids = set()
    for line in metrics_text.splitlines():
        if line.startswith("ebpf_exporter_ebpf_program_info{"):
            ids.add(int(line.split('id="', 1)[1].split('"', 1)[0]))
    return ids


def assert_detached(ids: set[int]) -> None:
    """None of ``ids`` is loaded or attached once the exporter is gone. The kernel
    frees a program whose last link went away in deferred work (after an RCU grace
    period), which a busy machine runs late: wait for it, as long as a stuck
    release would never end."""
    from ebpf.kernel.info import list_links, list_programs

    assert ids

    def left() -> str:
        progs = ids & {p.id for p in list_programs()}
        links = ids & {ln.prog_id for ln in list_links()}
        return (f"programs still loaded: {sorted(progs)} " if progs else "") + \
            (f"links still attached: {sorted(links)}" if links else "")

    deadline = time.monotonic() + 60
    while (still := left()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not still, still


class Prometheus:
    def __init__(self, tmp_path: Path, target_port: int):
        if shutil.which("prometheus") is None:
            pytest.fail("prometheus is not installed (make sysdeps installs it)")
        self.port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: ebpf-export\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{target_port}']\n")
        self.log = tmp_path / "prometheus.log"
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={cfg}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=subprocess.DEVNULL, stderr=err)
        wait_for("Prometheus to be ready",
                 lambda: http_get(f"http://127.0.0.1:{self.port}/-/ready") is not None,
                 60, self.proc, self.log)

    def query(self, promql: str) -> list[dict]:
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?"
               + urllib.parse.urlencode({"query": promql}))
        body = json.loads(http_get(url))
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, promql: str) -> float | None:
        res = self.query(promql)
        return float(res[0]["value"][1]) if len(res) == 1 else None

    def wait_value(self, promql: str, expected: float, timeout: float = 60) -> None:
        wait_for(f"{promql} == {expected}", lambda: self.value(promql) == expected, timeout,
                 self.proc, self.log)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


WORKLOAD = """
import os, sys, time
tag = sys.argv[1]
with open("/proc/self/comm", "w") as f:
    f.write(tag + "s")
for _ in range({n_sleep}):
    time.sleep(0.002)                 # clock_nanosleep()
with open("/proc/self/comm", "w") as f:
    f.write(tag + "c")
for _ in range({n_sys}):
    os.getppid()
"""


def test_prometheus_scrapes_exporter_workload(tmp_path):
    tag = "ebpfx" + secrets.token_hex(3)  # this run's command names: tag + e/s/c
    port = free_port()
    configs = [str(CONFIGS / f"{n}.yaml")
               for n in ("execs", "sleeps", "syscalls", "kprobes", "fentry")]
    exporter, log = start_exporter(tmp_path, configs, port)
    prom = None
    try:
        prom = Prometheus(tmp_path, port)
        prom.wait_value('ebpf_exporter_enabled_configs{name="execs"}', 1)

        exe = tmp_path / (tag + "e")
        shutil.copy("/bin/true", exe)
        for _ in range(N_EXEC):
            subprocess.run([str(exe)], check=True)
        subprocess.run([sys.executable, "-c",
                        WORKLOAD.format(n_sleep=N_SLEEP, n_sys=N_SYSCALL), tag], check=True)

        prom.wait_value(f'ebpf_exporter_execs_total{{comm="{tag}e"}}', N_EXEC)
        prom.wait_value(f'ebpf_exporter_syscalls_by_comm_total{{comm="{tag}c",'
                        f'syscall="getppid"}}', N_SYSCALL)
        prom.wait_value(f'ebpf_exporter_sleep_latency_seconds_count{{comm="{tag}s"}}', N_SLEEP)

        # histogram: buckets cumulative, +Inf equal to the count, nothing under 1 ms
        rows = prom.query(f'ebpf_exporter_sleep_latency_seconds_bucket{{comm="{tag}s"}}')
        buckets = sorted((float(r["metric"]["le"]), float(r["value"][1])) for r in rows)
        assert len(buckets) == 27 + 1  # bucket_min..bucket_max and +Inf
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), buckets
        assert buckets[-1] == (float("inf"), N_SLEEP)
        assert dict(buckets)[0.001024] == 0  # every sleep took at least 2 ms
        total = prom.value(f'ebpf_exporter_sleep_latency_seconds_sum{{comm="{tag}s"}}')
        assert total is not None and total >= N_SLEEP * 0.002

        # the workload's other processes did not leak into the exact series
        assert prom.value(f'count(ebpf_exporter_syscalls_by_comm_total{{comm="{tag}c",'
                          f'syscall="getppid"}})') == 1
        # every command name kept by the regexp starts with ebpfx
        names = {r["metric"]["comm"] for r in prom.query("ebpf_exporter_syscalls_by_comm_total")}
        assert all(n.startswith("ebpfx") for n in names)

        # health metrics, under ebpf_exporter's names
        assert prom.value('ebpf_exporter_failed_configs{name="kprobes"}') == 1
        assert prom.value('ebpf_exporter_failed_configs{name="fentry"}') == 1
        assert prom.value("count(ebpf_exporter_enabled_configs)") == 3
        assert prom.value("sum(ebpf_exporter_decoder_errors_total)") == 0
        info = prom.query("ebpf_exporter_ebpf_program_info")
        assert {r["metric"]["program"] for r in info} == \
            {"count_exec", "sleep_enter", "sleep_exit", "count_syscall"}
        sys_id = next(r["metric"]["id"] for r in info
                      if r["metric"]["program"] == "count_syscall")
        prom.wait_value(f'ebpf_exporter_ebpf_program_attached{{id="{sys_id}"}}', 1)
        wait_for("run counts from kernel stats", lambda: (prom.value(
            f'ebpf_exporter_ebpf_program_run_count_total{{id="{sys_id}"}}') or 0) > 0,
            30, prom.proc, prom.log)
        assert prom.value(f'ebpf_exporter_ebpf_program_run_time_seconds{{id="{sys_id}"}}') > 0

        err = log.read_text()
        assert "config kprobes skipped: kprobes is not supported" in err
        assert "config fentry skipped: fentry (BPF trampoline) is not supported" in err
        assert "Traceback" not in err

        ids = program_ids(http_get(f"http://127.0.0.1:{port}/metrics").decode())
        assert {int(r["metric"]["id"]) for r in info} == ids
    finally:
        rc = stop(exporter, signal.SIGTERM)
        if prom is not None:
            prom.close()
    assert rc == 0, log.read_text()
    assert_detached(ids)


def test_sigint_detaches_everything(tmp_path):
    port = free_port()
    exporter, log = start_exporter(
        tmp_path, [str(CONFIGS / "execs.yaml"), str(CONFIGS / "sleeps.yaml")], port)
    try:
        ids = program_ids(http_get(f"http://127.0.0.1:{port}/metrics").decode())
        assert len(ids) == 3
    finally:
        rc = stop(exporter, signal.SIGINT)
    assert rc == 0, log.read_text()
    assert "stopping (detaching programs)" in log.read_text()
    assert_detached(ids)
    with pytest.raises(OSError):
        http_get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_example_configs_on_the_kernel(tmp_path):
    """The project's syscount and sleeplat configs, on this process's own syscalls."""
    root = Path(__file__).resolve().parents[2]
    port = free_port()
    exporter, log = start_exporter(
        tmp_path, [str(root / "examples/syscount/syscount.yaml"),
                   str(root / "examples/sleeplat/sleeplat.yaml")], port)
    try:
        pid = os.getpid()
        for _ in range(5):
            os.getppid()
            time.sleep(0.001)

        def scraped():
            text = http_get(f"http://127.0.0.1:{port}/metrics").decode()
            getppid = [ln for ln in text.splitlines()
                       if ln.startswith(f'ebpf_exporter_counts_total{{pid="{pid}",'
                                        'syscall="getppid"}')]
            inf = [ln for ln in text.splitlines()
                   if ln.startswith('ebpf_exporter_hist_bucket{le="+Inf"}')]
            return (getppid and float(getppid[0].split()[-1]) >= 5 and inf
                    and float(inf[0].split()[-1]) >= 5)
        wait_for("syscount and sleeplat series", scraped, 30, exporter, log)
    finally:
        rc = stop(exporter)
    assert rc == 0


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()  # fails while an exited child is still being reaped in it
    except OSError:
        return False
    return True


def test_uprobe_tp_btf_perf_event_hooks(tmp_path):
    """ebpf_exporter's other hook kinds through the Python API: a libc uprobe counted
    per cgroup (a cgroup this test makes) and command name, a BTF tracepoint, and a
    ``perf_event/type=...,frequency=...`` section sampled per CPU."""
    from ebpf.export import Exporter
    from ebpf.vm.cgroups import cgroup2_mount

    tag = "ebpfx" + secrets.token_hex(3)
    root = cgroup2_mount()
    assert root, "no cgroup v2 hierarchy mounted"
    cg = Path(root) / f"{tag}-test"
    exe = tmp_path / (tag + "b")
    shutil.copy("/bin/true", exe)
    with Exporter([CONFIGS / "hooks.yaml"], backend="kernel") as exp:
        assert exp.failed == {}
        cg.mkdir()
        try:
            child = ("import os, sys\n"
                     f"open({str(cg / 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
                     f"open('/proc/self/comm', 'w').write({tag + 'u'!r})\n"
                     f"for _ in range({N_SYSCALL}):\n    os.getpid()\n")
            subprocess.run([sys.executable, "-c", child], check=True)
            for _ in range(N_EXEC):
                subprocess.run([str(exe)], check=True)

            def rendered():
                text = exp.render().decode()
                return text if f'comm="{tag}b"' in text and "cpu_clock" in text else None
            text = wait_for("hook series", rendered, 30)
        finally:
            wait_for("the test cgroup to empty", lambda: _rmdir(cg), 30)
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    assert samples[f'ebpf_exporter_libc_getpid_calls_total{{cgroup="{cg}",comm="{tag}u"}}'] \
        == N_SYSCALL
    assert samples[f'ebpf_exporter_btf_execs_total{{comm="{tag}b"}}'] == N_EXEC
    per_cpu = {k: v for k, v in samples.items()
               if k.startswith("ebpf_exporter_cpu_clock_samples_total{cpu=")}
    assert len(per_cpu) == os.cpu_count()
    assert sum(per_cpu.values()) > 0


def test_perf_event_array_counter(tmp_path):
    """``perf_event_array: true``: one event per getppid() from a child with this run's
    command name, counted exactly."""
    from ebpf.export import Exporter

    tag = "ebpfx" + secrets.token_hex(3)
    with Exporter([CONFIGS / "events.yaml"], backend="kernel") as exp:
        assert exp.failed == {}
        subprocess.run([sys.executable, "-c",
                        f"import os\nopen('/proc/self/comm', 'w').write({tag + 'p'!r})\n"
                        f"for _ in range({N_SYSCALL}):\n    os.getppid()\n"], check=True)
        want = f'ebpf_exporter_getppid_events_total{{comm="{tag}p"}} {float(N_SYSCALL)}'
        text = wait_for("the event counter", lambda: (lambda t: t if want in t else None)(
            exp.render().decode()), 30)
    assert "dropped_perf_event_map_events_getppid_events_total 0.0" in text
