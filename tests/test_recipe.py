"""scripts/gpu_recipe.py, the sweep runner behind BENCHMARKS.md "Accuracy": on the tiny fixture, on the CPU."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nerflow.params import load_params

pytestmark = pytest.mark.slow  # trains with scripts/gpu_recipe.py

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "tiny"


def run(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_each_run_and_seed_is_trained_as_the_stage_trains_and_scored_with_both_decodings(tmp_path, tiny_model_dir):
    params = load_params(ROOT / "params.yaml")
    params["dataset"].update(source="local", files={s: str(TINY / f"{s}.txt") for s in ("train", "dev", "test")},
                             sha256={})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.copytree(TINY, tmp_path / "data" / "raw")
    shutil.copytree(tiny_model_dir, tmp_path / "data" / "base_model")
    for stage in ("preprocess", "tokenize"):
        run(["-m", f"nerflow.stages.{stage}"], tmp_path)
    sweep = [{"name": "short", "set": {"epochs": 1, "min_steps": 0}, "seeds": [1, 2]},
             {"name": "longer", "set": {"epochs": 3, "min_steps": 0, "lr": 3e-3}}]
    (tmp_path / "sweep.json").write_text(json.dumps(sweep))
    run([str(ROOT / "scripts" / "gpu_recipe.py"), "sweep.json", "--output", "out.jsonl"], tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["name"], r["seed"], r["epochs"]) for r in rows] == [("short", 1, 1), ("short", 2, 1), ("longer", 42, 3)]
    for r in rows:
        assert r["device"] == "cpu" and r["parameters"][0] == r["parameters"][1] > 0
        assert r["dev_constrained"]["constrained_decoding"] and not r["dev_argmax"]["constrained_decoding"]
        # Valid sequences: the conlleval and strict F1 coincide; and the epoch kept is the one dev F1 chose.
        for split in ("dev", "test"):
            assert r[f"{split}_constrained"]["f1"] == r[f"{split}_constrained"]["strict_f1"]
            assert r[f"{split}_constrained"]["words"] == r[f"{split}_argmax"]["words"] > 0
        assert r["dev_constrained"]["f1"] == max(r["dev_f1_by_epoch"].values())
    assert rows[2]["dev_constrained"]["f1"] > 0  # a run that learnt something, so the checks above are not of zeros
