

def test_test_run_compiles_c_without_littering(capsys, tmp_path):
    src = tmp_path / "ret.bpf.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("xdp") int ret(struct xdp_md *ctx) { return XDP_TX; }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    rc, out, err = run(capsys, "test-run", str(src), "ret", "--data-size", "14", "--json")
    assert rc == 0, err
    assert json.loads(out)["retval"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ret.bpf.c"]
