"""scripts/gpu_sweep.py, the GPU sweep measurement, run as it would run there, on the CPU and the tiny fixture:
prepared from a project, then one experiment timed and a sweep run one after the other and two at a time."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow  # trains and evaluates five times


def test_sweep_runs_every_experiment_both_ways_with_the_same_scores(tmp_path, tiny_model_dir):
    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    (source / "data" / "raw").symlink_to(FIXTURES / "tiny")
    (source / "data" / "base_model").symlink_to(tiny_model_dir)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"].update(source="local", sha256={})
    params.update(max_length=16, window_overlap=4, epochs=2, min_steps=0, batch_size=2, eval_batch_size=8)
    (source / "params.yaml").write_text(yaml.safe_dump(params))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    for stage in ("preprocess", "tokenize"):
        subprocess.run([sys.executable, "-m", f"nerflow.stages.{stage}"], cwd=source, env=env, check=True,
                       capture_output=True)
    script = str(ROOT / "scripts" / "gpu_sweep.py")
    project, out = tmp_path / "project", tmp_path / "out"
    subprocess.run([sys.executable, script, "prepare", str(project), "--source", str(source)], env=env, check=True,
                   capture_output=True)
    assert sorted(p.name for p in (project / "data/raw").iterdir()) == ["dev.txt.gz", "test.txt.gz", "train.txt.gz"]
    assert list((project / "wheels").glob("seqeval-1.2.2-*.whl")) and list((project / "wheels").glob("pydantic-2*.whl"))
    result = subprocess.run([sys.executable, script, "run", str(project), "--out", str(out), "--jobs", "2",
                             "--experiments", "2", "--scratch", str(tmp_path / "scratch")],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "bench_gpu_sweep.json").read_text())
    assert report["device"] == "cpu" and report["jobs"] == 2 and len(report["experiments"]) == 2
    assert report["sweep_speedup"] == pytest.approx(report["sequential_s"] / report["concurrent_s"], rel=1e-2)
    phases = report["experiment_phases"]
    assert 0 < phases["train_start_and_model_load_s"] < phases["train_to_first_step_s"] < phases["train_wall_s"]
    assert report["experiment_wall_s"] >= phases["train_wall_s"] + phases["evaluate_wall_s"]
    assert report["experiment"]["train"]["epochs"].keys() == {"1", "2"}  # each epoch's end seen
    for e in report["experiments"]:  # the same experiment, alone or beside another: the same model (CPU)
        assert e["dev_f1_sequential"] == e["dev_f1_concurrent"]
    assert [(e["lr"], e["seed"]) for e in report["experiments"]] == [(1e-4, 42), (1e-4, 43)]
