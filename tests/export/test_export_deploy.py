"""The deployment files: the DaemonSet parses, asks for what the exporter needs, and
runs the same command as the container image and the end-to-end test."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from ebpf.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def manifest_container() -> dict:
    (ds,) = [d for d in yaml.safe_load_all((DEPLOY / "daemonset.yaml").read_text()) if d]
    assert ds["kind"] == "DaemonSet" and ds["apiVersion"] == "apps/v1"
    (container,) = ds["spec"]["template"]["spec"]["containers"]
    return container


def manifest_command() -> list[str]:
    """The container's command: ``ebpf export --listen ADDR CONFIG...``."""
    return list(manifest_container()["command"])


def exporter_command(ebpf: str, configs: list[str], listen: str) -> list[str]:
    """The manifest's command with this machine's program, configs and address: what the
    end-to-end test runs (every option the manifest passes is kept)."""
    cmd = manifest_command()
    args = build_parser().parse_args(cmd[1:])
    out = [ebpf, cmd[1]]
    rest = cmd[2:]
    i = 0
    while i < len(rest):
        if rest[i] == "--listen":
            out += ["--listen", listen]
            i += 2
        elif rest[i].startswith("--"):
            out.append(rest[i])
            i += 1
        else:
            i += 1  # a config path: replaced
    assert [str(c) for c in args.configs] == [r for r in rest if r.endswith(".yaml")]
    return out + configs


def test_manifest_runs_ebpf_export():
    cmd = manifest_command()
    assert cmd[:2] == ["ebpf", "export"]
    args = build_parser().parse_args(cmd[1:])  # the CLI accepts every argument
    assert args.verb == "export" and args.listen == ("0.0.0.0", 9435)
    assert args.configs == ["/etc/ebpf-export/syscount.yaml", "/etc/ebpf-export/sleeplat.yaml"]


def test_manifest_has_what_the_exporter_needs():
    ds = yaml.safe_load((DEPLOY / "daemonset.yaml").read_text())
    pod = ds["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9435"
    assert pod["spec"]["hostPID"] is True
    c = manifest_container()
    caps = set(c["securityContext"]["capabilities"]["add"])
    assert {"BPF", "PERFMON"} <= caps
    assert c["ports"][0]["containerPort"] == 9435
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: v["hostPath"]["path"] for v in pod["spec"]["volumes"]}
    assert vols[mounts["/sys/kernel/btf"]] == "/sys/kernel/btf"
    assert vols[mounts["/sys/kernel/tracing"]] == "/sys/kernel/tracing"


def test_containerfile_runs_the_manifest_command():
    text = (DEPLOY / "Containerfile").read_text()
    (line,) = [ln for ln in text.splitlines() if ln.startswith("ENTRYPOINT")]
    entry = yaml.safe_load(line.split(None, 1)[1])  # a JSON array
    assert entry == manifest_command()
    for cfg in entry[4:]:  # the configs it copies into the image exist in the repo
        name = Path(cfg).stem
        assert (ROOT / "examples" / name / f"{name}.yaml").exists()
        assert f"/src/examples/{name}/{name}.yaml" in text


def test_exporter_command_keeps_manifest_options():
    cmd = exporter_command("/x/ebpf", ["a.yaml"], "127.0.0.1:1")
    assert cmd == ["/x/ebpf", "export", "--listen", "127.0.0.1:1", "a.yaml"]
    assert shlex.join(cmd)
