"""ebpf export without a kernel: config parsing, every decoder, histogram rebuild,
the series limit, and dry runs on the vm backend from pre-filled maps."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import ebpf
from ebpf.export import DecoderSet, load_config, parse_config
from ebpf.export.collect import MetricState, histogram_buckets, limit_series
from ebpf.export.config import Decoder, Label, Metric
from ebpf.export.decoders import DecodeError, SkipLabelSet

CONFIGS = Path(__file__).with_name("configs")
EBPF = [sys.executable, "-m", "ebpf"]


def _counter(labels):
    return {"metrics": {"counters": [{"name": "c_total", "help": "h", "labels": labels}]}}


# -- config ----------------------------------------------------------------------------------

def test_config_files_parse():
    cfg = load_config(CONFIGS / "syscalls.yaml")
    assert cfg.name == "syscalls"
    (m,) = cfg.counters
    assert [(lb.name, lb.size, lb.padding) for lb in m.labels] == [("comm", 16, 0),
                                                                   ("syscall", 4, 4)]
    assert m.key_size == 24
    h = load_config(CONFIGS / "sleeps.yaml").histograms[0]
    assert (h.bucket_type, h.bucket_min, h.bucket_max, h.bucket_multiplier) == \
        ("exp2", 0, 26, 1e-6)


@pytest.mark.parametrize("data, message", [
    (_counter([{"name": "a", "size": 4, "decoders": [{"name": "nope"}]}]), "unknown decoder 'nope'"),
    (_counter([{"name": "a", "decoders": [{"name": "uint"}]}]), "size is zero or not set"),
    (_counter([{"name": "a", "size": 4}]), "no decoders set"),
    (_counter([{"name": "a", "size": 4, "decoders": [{"name": "regexp"}]}]), "needs regexps"),
    (_counter([{"name": "a", "size": 4, "decoders": [{"name": "regexp", "regexps": ["("]}]}]),
     "bad regexp"),
    ({"metrics": {"histograms": [{"name": "h", "bucket_type": "log", "labels": []}]}},
     "bucket_type must be one of"),
    ({"metrics": {"histograms": [{"name": "h", "bucket_type": "exp2", "bucket_max": 0,
                                  "labels": [{"name": "b", "size": 8,
                                              "decoders": [{"name": "uint"}]}]}]}},
     "zero size"),
    ({"metrics": {"histograms": [{"name": "x", "perf_event_array": True}]}},
     "perf_event_array is for counters only"),
    ({"metrics": {"counters": [{"name": "x", "perf_event_array": True,
                               "flush_interval": "soon"}]}},
     "flush_interval must be a duration"),
    ({"metrics": []}, "metrics must be a mapping"),
])
def test_config_errors_name_the_setting(data, message):
    with pytest.raises(ebpf.ConfigError, match="config demo: .*" + message.replace("(", r"\(")):
        parse_config(data, "demo")


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("metrics: [unclosed\n")
    with pytest.raises(ebpf.ConfigError, match="config bad: .* not valid YAML"):
        load_config(bad)
    with pytest.raises(ebpf.ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_durations():
    from ebpf.export.config import parse_duration

    assert parse_duration("1m30s", "x", "c") == 90
    assert parse_duration("250ms", "x", "c") == 0.25
    assert parse_duration(5, "x", "c") == 5
    cfg = parse_config({"metrics": {"counters": [{"name": "e_total", "perf_event_array": True,
                                                  "flush_interval": "2h"}]}}, "d")
    assert cfg.counters[0].perf_event_array and cfg.counters[0].flush_interval == 7200


def test_static_map_keys_are_strings():
    cfg = parse_config(_counter([{"name": "op", "size": 4, "decoders": [
        {"name": "uint"}, {"name": "static_map", "static_map": {1: "read", 2: "write"}}]}]), "d")
    assert cfg.counters[0].labels[0].decoders[1].static_map == {"1": "read", "2": "write"}


# -- decoders ---------------------------------------------------------------------------------

def _chain(*names, **opts):
    return Label("x", 0, 0, tuple(Decoder(n, **opts.get(n, {})) for n in names))


@pytest.fixture
def decoders(tmp_path):
    ks = tmp_path / "kallsyms"
    ks.write_text("ffffffff81000000 T _stext\nffffffff81000100 T do_one\n"
                  "ffffffff81000200 t helper_two\nffffffffc0000000 t mod_fn\t[mymod]\n")
    parts = tmp_path / "partitions"
    parts.write_text("major minor  #blocks  name\n\n 254        0   10485760 vda\n"
                     " 254        1   10484719 vda1\n")
    unistd = tmp_path / "unistd_64.h"
    unistd.write_text("#define __NR_read 0\n#define __NR_write 1\n#define __NR_getppid 110\n")
    cg = tmp_path / "cgroup"
    (cg / "system.slice" / "ssh.service").mkdir(parents=True)
    return DecoderSet(kallsyms=ks, partitions=parts, unistd=[str(unistd)], cgroup_root=cg)


def test_uint_string_hex(decoders):
    assert decoders.decode(b"\x0e", _chain("uint")) == "14"
    assert decoders.decode((1 << 40).to_bytes(8, "little"), _chain("uint")) == str(1 << 40)
    assert decoders.decode(b"\x01\x02", _chain("uint")) == "513"
    with pytest.raises(DecodeError, match="length 3"):
        decoders.decode(b"abc", _chain("uint"))
    assert decoders.decode(b"bash\0\0junk", _chain("string")) == "bash"
    assert decoders.decode(b"\x01\xab", _chain("hex")) == "01ab"


def test_ksym_kstack(decoders):
    addr = (0xffffffff81000100 + 0x10).to_bytes(8, "little")
    assert decoders.decode(addr, _chain("ksym")) == "do_one"
    assert decoders.decode((0xffffffffc0000004).to_bytes(8, "little"),
                           _chain("ksym")) == "mod_fn\t[mymod]"
    assert decoders.decode((5).to_bytes(8, "little"), _chain("ksym")) == "unknown_addr:0x5"
    stack = b"".join(a.to_bytes(8, "little") for a in
                     (0xffffffff81000208, 0xffffffff81000101, 3, 0, 0xffffffff81000101))
    assert decoders.decode(stack, _chain("kstack")) == "helper_two\ndo_one\n??"


def test_syscall_errno(decoders):
    assert decoders.decode((110).to_bytes(8, "little"), _chain("uint", "syscall")) == "getppid"
    assert decoders.decode((999).to_bytes(4, "little"), _chain("uint", "syscall")) == \
        "unknown_syscall:999"
    with pytest.raises(DecodeError, match="not a decimal number"):
        decoders.decode(b"ls\0\0", _chain("string", "syscall"))
    assert decoders.decode((32).to_bytes(8, "little"), _chain("uint", "errno")) == "EPIPE"
    assert decoders.decode((4000).to_bytes(8, "little"), _chain("uint", "errno")) == \
        "unknown:4000"


def test_inet_ip_ifname(decoders):
    assert decoders.decode(bytes([1, 1, 1, 1]), _chain("inet_ip")) == "1.1.1.1"
    v6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    assert decoders.decode(v6, _chain("inet_ip")) == "2001:db8::1"
    mapped = socket.inet_pton(socket.AF_INET6, "::ffff:10.0.0.7")
    assert decoders.decode(mapped, _chain("inet_ip")) == "10.0.0.7"
    with pytest.raises(DecodeError, match="neither IPv4"):
        decoders.decode(b"\0" * 5, _chain("inet_ip"))
    idx = socket.if_nametoindex("lo")
    assert decoders.decode(idx.to_bytes(4, "little"), _chain("uint", "ifname")) == "lo"


def test_cgroup(decoders, tmp_path):
    svc = tmp_path / "cgroup" / "system.slice" / "ssh.service"
    cid = os.stat(svc).st_ino
    assert decoders.decode(cid.to_bytes(8, "little"), _chain("uint", "cgroup")) == str(svc)
    new = tmp_path / "cgroup" / "later"
    new.mkdir()  # appears after the first scan: found by a rescan
    nid = os.stat(new).st_ino
    assert decoders.decode(nid.to_bytes(8, "little"), _chain("uint", "cgroup")) == str(new)
    assert decoders.decode((1).to_bytes(8, "little"), _chain("uint", "cgroup")) == \
        "unknown_cgroup_id:1"


def test_majorminor_dname(decoders):
    assert decoders.decode(os.makedev(254, 1).to_bytes(4, "little"),
                           _chain("majorminor")) == "vda1"
    assert decoders.decode(os.makedev(8, 3).to_bytes(4, "little"),
                           _chain("majorminor")) == "unknown:8:3"
    assert decoders.decode(b"\x07example\x03com\x00\x00", _chain("string", "dname")) == \
        "example.com"
    assert decoders.decode(b"", _chain("dname")) == "."
    assert decoders.decode(b"\x09short", _chain("dname")) == "\tshort"  # malformed: unchanged


def test_static_map_and_regexp(decoders):
    sm = {"static_map": {"static_map": {"1": "read", "2": "write"}}}
    lab = _chain("uint", "static_map", **sm)
    assert decoders.decode(b"\x02\0\0\0", lab) == "write"
    assert decoders.decode(b"\x03\0\0\0", lab) == "unknown:3"
    sm["static_map"]["allow_unknown"] = True
    assert decoders.decode(b"\x03\0\0\0", _chain("uint", "static_map", **sm)) == "3"
    rx = _chain("string", "regexp", regexp={"regexps": ("^(kswapd).*$", "^syslog-ng$")})
    assert decoders.decode(b"kswapd0\0", rx) == "kswapd"
    assert decoders.decode(b"syslog-ng\0", rx) == "syslog-ng"
    with pytest.raises(SkipLabelSet):
        decoders.decode(b"bash\0", rx)


def test_decode_labels_with_padding(decoders):
    labels = (Label("comm", 4, 0, (Decoder("string"),)),
              Label("nr", 4, 4, (Decoder("uint"), Decoder("syscall"))))
    assert decoders.decode_labels(b"sh\0\0\x01\0\0\0\xff\xff\xff\xff", labels) == ("sh", "write")
    with pytest.raises(DecodeError, match="key is 8 bytes but the labels describe 12"):
        decoders.decode_labels(b"\0" * 8, labels)


# -- histograms and limits ----------------------------------------------------------------------

def _hist(btype, **kw):
    return Metric("h", "h", labels=(Label("bucket", 8, 0, (Decoder("uint"),)),),
                  kind="histogram", bucket_type=btype, **kw)


def test_histogram_kinds():
    assert histogram_buckets(_hist("exp2", bucket_min=0, bucket_max=2, bucket_multiplier=1e-6),
                             {0: 1, 1: 2, 2: 3, 3: 4000}) == \
        ([(1e-6, 1), (2e-6, 3), (4e-6, 6)], 6, 4000 * 1e-6)
    assert histogram_buckets(_hist("exp2zero", bucket_min=0, bucket_max=3),
                             {0: 5, 3: 1})[0] == [(0.0, 5), (1.0, 5), (2.0, 5), (4.0, 6)]
    assert histogram_buckets(_hist("linear", bucket_min=1, bucket_max=3, bucket_multiplier=10),
                             {0: 100, 1: 1, 3: 2})[:2] == ([(10.0, 1), (20.0, 1), (30.0, 3)], 3)
    assert histogram_buckets(_hist("fixed", bucket_keys=(5.0, 10.0, 50.0)),
                             {5: 1, 10: 1, 50: 1, 51: 99}) == \
        ([(5.0, 1), (10.0, 2), (50.0, 3)], 3, 99.0)


def test_series_limit_counts_drops():
    st = MetricState(Metric("c", "h"))
    values = {(str(i),): i for i in range(10)}
    kept = limit_series(st, values, 4)
    assert len(kept) == 4 and st.dropped_series == 6
    hst = MetricState(_hist("exp2", bucket_min=0, bucket_max=4))  # 5 buckets + 3 = 8 series each
    assert len(limit_series(hst, {("a",): 1, ("b",): 1, ("c",): 1}, 17)) == 2
    assert hst.dropped_series == 8


# -- dry runs on the vm backend ------------------------------------------------------------------

def _run(args, **kw):
    env = dict(os.environ, EBPF_BACKEND="vm")
    return subprocess.run([*EBPF, "export", *args], capture_output=True, text=True,
                          timeout=300, env=env, **kw)


def _samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_vm_dry_run_renders_prefilled_maps(tmp_path):
    prefill = tmp_path / "prefill.yaml"
    prefill.write_text("""
execs:
  execs_total:
    - {key: [bash], value: 3}
    - {key: "hex:6c730000000000000000000000000000", value: 2}
syscalls:
  syscalls_by_comm_total:
    - {key: [ebpfx_a, 110], value: 5}
    - {key: [other, 110], value: 7}
sleeps:
  sleep_latency_seconds:
    - {key: [sleeper, 1], value: 2}
    - {key: [sleeper, 3], value: 1}
    - {key: [sleeper, 27], value: 12}
""")
    r = _run([str(CONFIGS / f"{n}.yaml") for n in ("execs", "syscalls", "sleeps")] +
             ["--backend", "vm", "--prefill", str(prefill), "--once"])
    assert r.returncode == 0, r.stderr
    s = _samples(r.stdout)
    assert s['ebpf_exporter_execs_total{comm="bash"}'] == 3
    assert s['ebpf_exporter_execs_total{comm="ls"}'] == 2
    assert s['ebpf_exporter_syscalls_by_comm_total{comm="ebpfx_a",syscall="getppid"}'] == 5
    assert not any('comm="other"' in k for k in s)  # the regexp left it out
    b = 'ebpf_exporter_sleep_latency_seconds_bucket{comm="sleeper",le="%s"}'
    assert (s[b % "1e-06"], s[b % "2e-06"], s[b % "4e-06"], s[b % "8e-06"], s[b % "+Inf"]) == \
        (0, 2, 2, 3, 3)
    assert s['ebpf_exporter_sleep_latency_seconds_count{comm="sleeper"}'] == 3
    assert s['ebpf_exporter_sleep_latency_seconds_sum{comm="sleeper"}'] == pytest.approx(12e-6)
    assert s['ebpf_exporter_enabled_configs{name="sleeps"}'] == 1
    assert s['ebpf_exporter_decoder_errors_total{config="execs"}'] == 0


PERCPU_C = """
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u64); } ops_total SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64);
         __type(key, __u64); __type(value, __u64); } names_total SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	__u32 k = 1; __u64 *v = bpf_map_lookup_elem(&ops_total, &k);
	if (v) *v += 1;
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def _percpu_config(tmp_path, cpu_label: bool, names_decoders: str = "[{name: uint}]"):
    (tmp_path / "pc.bpf.c").write_text(PERCPU_C)
    cpu = "\n        - {name: cpu, size: 2, decoders: [{name: uint}]}" if cpu_label else ""
    (tmp_path / "pc.yaml").write_text(f"""
metrics:
  counters:
    - name: ops_total
      help: ops
      labels:
        - name: op
          size: 4
          decoders: [{{name: uint}}, {{name: static_map, static_map: {{1: read, 2: write}}}}]{cpu}
    - name: names_total
      help: names
      labels:
        - name: n
          size: 8
          decoders: {names_decoders}
""")
    return tmp_path / "pc.yaml"


def test_vm_per_cpu_values_summed_or_split(tmp_path):
    ncpu = ebpf.load(ebpf.compile(_percpu_config(tmp_path, False).with_suffix(".bpf.c"),
                                  tmp_path / "x.o"), backend="vm").maps["ops_total"].num_cpus
    prefill = tmp_path / "p.json"
    prefill.write_text('{"pc": {"ops_total": [{"key": 1, "value": [3, 4]},'
                       ' {"key": 2, "value": 5}]}}')
    r = _run([str(tmp_path / "pc.yaml"), "--backend", "vm", "--prefill", str(prefill), "--once"])
    assert r.returncode == 0, r.stderr
    s = _samples(r.stdout)
    assert s['ebpf_exporter_ops_total{op="read"}'] == 7
    assert s['ebpf_exporter_ops_total{op="write"}'] == 5
    assert s['ebpf_exporter_ops_total{op="unknown:0"}'] == 0  # array slots exist
    _percpu_config(tmp_path, True)
    r = _run([str(tmp_path / "pc.yaml"), "--backend", "vm", "--prefill", str(prefill), "--once"])
    assert r.returncode == 0, r.stderr
    s = _samples(r.stdout)
    assert s['ebpf_exporter_ops_total{cpu="0",op="read"}'] == 3
    if ncpu > 1:
        assert s['ebpf_exporter_ops_total{cpu="1",op="read"}'] == 4


def test_vm_decoder_errors_counted_and_limit(tmp_path):
    # names_total decoded as string -> syscall: the syscall decoder fails on text
    cfg = _percpu_config(tmp_path, False, "[{name: string}, {name: syscall}]")
    prefill = tmp_path / "p.yaml"
    prefill.write_text("pc:\n  names_total:\n" +
                       "".join(f"    - {{key: {i}, value: 1}}\n" for i in (7, 65, 66)))
    r = _run([str(cfg), "--backend", "vm", "--prefill", str(prefill), "--once"])
    assert r.returncode == 0, r.stderr
    s = _samples(r.stdout)
    # key 7 is "\x07" (not a number), 65 "A", 66 "B": three failures, none fatal
    assert s['ebpf_exporter_decoder_errors_total{config="pc"}'] == 3
    assert s['ebpf_exporter_enabled_configs{name="pc"}'] == 1
    _percpu_config(tmp_path, False)
    r = _run([str(cfg), "--backend", "vm", "--prefill", str(prefill), "--once",
              "--max-series", "2"])
    s = _samples(r.stdout)
    assert sum(1 for k in s if k.startswith("ebpf_exporter_names_total{")) == 2
    assert s['ebpf_exporter_dropped_series_total{config="pc",metric="names_total"}'] == 1
    assert s['ebpf_exporter_dropped_series_total{config="pc",metric="ops_total"}'] == 2


def test_failed_config_is_skipped_others_run(tmp_path):
    wrong = tmp_path / "wrong.yaml"  # labels describe 4 bytes, the map has 16-byte keys
    (tmp_path / "wrong.bpf.c").write_text((CONFIGS / "execs.bpf.c").read_text())
    wrong.write_text("metrics:\n  counters:\n    - name: execs_total\n      labels:\n"
                     "        - {name: x, size: 4, decoders: [{name: uint}]}\n")
    nomap = tmp_path / "nomap.yaml"
    (tmp_path / "nomap.bpf.c").write_text((CONFIGS / "execs.bpf.c").read_text())
    nomap.write_text("metrics:\n  counters:\n    - {name: other_total}\n")
    r = _run([str(wrong), str(nomap), str(tmp_path / "absent.yaml"),
              str(CONFIGS / "execs.yaml"), "--backend", "vm", "--once"])
    assert r.returncode == 1  # --once reports failed configs in the exit code
    assert "config wrong: map execs_total keys are 16 bytes but the labels of metric " \
           "execs_total describe 4" in r.stderr
    assert "config nomap: metric other_total has no map of that name (maps: execs_total)" \
        in r.stderr
    assert "config absent: cannot read" in r.stderr
    assert "Traceback" not in r.stderr
    s = _samples(r.stdout)
    assert s['ebpf_exporter_enabled_configs{name="execs"}'] == 1
    assert s['ebpf_exporter_failed_configs{name="wrong"}'] == 1
    assert s['ebpf_exporter_failed_configs{name="nomap"}'] == 1


def test_nothing_to_serve_is_an_error(tmp_path):
    r = _run([str(tmp_path / "absent.yaml"), "--backend", "vm", "--listen", "127.0.0.1:0"])
    assert r.returncode == 1
    assert "no config could be loaded" in r.stderr and "Traceback" not in r.stderr


def test_bad_prefill_is_a_clear_error(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("execs:\n  execs_total:\n    - {key: [a, b], value: 1}\n")
    r = _run([str(CONFIGS / "execs.yaml"), "--backend", "vm", "--prefill", str(p), "--once"])
    assert r.returncode == 1
    assert "prefill execs.execs_total[0]: 2 values for 1 labels (comm)" in r.stderr


def test_project_example_configs_dry_run():
    root = Path(__file__).resolve().parents[2]
    r = _run([str(root / "examples/syscount/syscount.yaml"),
              str(root / "examples/sleeplat/sleeplat.yaml"), "--backend", "vm", "--once"])
    assert r.returncode == 0, r.stderr
    s = _samples(r.stdout)
    assert s['ebpf_exporter_hist_bucket{le="+Inf"}'] == 0
    assert s['ebpf_exporter_enabled_configs{name="syscount"}'] == 1


KADDR_C = """
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
const volatile __u64 kaddr_%(sym)s = 0;
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1);
         __type(key, __u32); __type(value, __u64); } seen_total SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	__u32 k = 0; __u64 *v = bpf_map_lookup_elem(&seen_total, &k);
	if (v) *v = kaddr_%(sym)s;
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def test_kaddrs_set_constants(tmp_path):
    from ebpf.export import Exporter

    kallsyms = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            addr, _, name = line.split()[:3]
            kallsyms.setdefault(name, int(addr, 16))
    sym = next(s for s in ("jiffies", "init_task", "_stext") if s in kallsyms)
    (tmp_path / "k.bpf.c").write_text(KADDR_C % {"sym": sym})
    (tmp_path / "k.yaml").write_text(f"kaddrs: [{sym}]\nmetrics:\n  counters:\n"
                                     "    - {name: seen_total, help: h}\n")
    (tmp_path / "bad.bpf.c").write_text(KADDR_C % {"sym": sym})
    (tmp_path / "bad.yaml").write_text("kaddrs: [no_such_symbol_here]\n")
    with Exporter([tmp_path / "k.yaml", tmp_path / "bad.yaml"], backend="vm") as exp:
        var = exp.running["k"].obj.variables[f"kaddr_{sym}"]
        assert var.value == kallsyms[sym]
        assert "kaddrs not in /proc/kallsyms: no_such_symbol_here" in exp.failed["bad"]


def test_listen_address_in_use_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = _run([str(CONFIGS / "execs.yaml"), "--backend", "vm", "--listen",
                  f"127.0.0.1:{port}"])
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in r.stderr
    assert "Traceback" not in r.stderr


UNSAFE_C = """
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1);
         __type(key, __u32); __type(value, __u64); } calls_total SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&calls_total, &k);
	*v += 1;   /* no NULL check: the kernel's verifier refuses this */
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def test_vm_dry_run_verifies_programs(tmp_path):
    (tmp_path / "unsafe.bpf.c").write_text(UNSAFE_C)
    (tmp_path / "unsafe.yaml").write_text("metrics:\n  counters:\n"
                                          "    - {name: calls_total, help: h}\n")
    args = [str(tmp_path / "unsafe.yaml"), str(CONFIGS / "execs.yaml"), "--backend", "vm",
            "--once"]
    r = _run(args)  # warn: reported, still rendered
    assert r.returncode == 0, r.stderr
    assert "config unsafe: ebpf's verifier rejects program on_getppid" in r.stderr
    assert 'ebpf_exporter_enabled_configs{name="unsafe"}' in r.stdout
    r = _run([*args, "--verify", "strict"])
    assert r.returncode == 1
    assert "config unsafe skipped: config unsafe: ebpf's verifier rejects program " \
           "on_getppid" in r.stderr
    s = _samples(r.stdout)
    assert s['ebpf_exporter_failed_configs{name="unsafe"}'] == 1
    assert s['ebpf_exporter_enabled_configs{name="execs"}'] == 1
