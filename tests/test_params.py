from nerflow.params import load_params, parse_yaml


def test_dvc_written_exponent_is_a_float(tmp_path):
    # After `dvc exp run -S lr=3e-5`, params.yaml holds `lr: 3e-05`, which YAML 1.1 (PyYAML) reads as a string.
    path = tmp_path / "params.yaml"
    path.write_text("lr: 3e-05\nepochs: 3\nwarmup_ratio: 0.1\nmodel: bert-base-cased\nquoted: '1e-3'\n")
    params = load_params(path)
    assert params == {"lr": 3e-05, "epochs": 3, "warmup_ratio": 0.1, "model": "bert-base-cased", "quoted": "1e-3"}
    assert isinstance(params["lr"], float) and isinstance(params["epochs"], int)


def test_other_float_spellings():
    assert parse_yaml("[1e3, -2E-1, .5, 1.0e-4, +7e+2, .inf]") == [1000.0, -0.2, 0.5, 1e-4, 700.0, float("inf")]
    assert parse_yaml("[1, 0x10, true, null, 1e, e3]") == [1, 16, True, None, "1e", "e3"]
