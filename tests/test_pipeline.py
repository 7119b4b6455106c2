"""End to end: the real `dvc repro` on a copy of the project, with the tiny fixture data and a tiny random BERT."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nerflow.params import load_params

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def run(args, cwd, env, check=True):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def dvc(*args, cwd, env, check=True):
    return run([sys.executable, "-m", "dvc", *args], cwd, env, check)


def git(*args, cwd, env):
    return run(["git", *args], cwd, env)


def words_in(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.startswith("-DOCSTART-"))


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    """A git repository holding a copy of the project, with params pointed at the fixtures."""
    repo = tmp_path_factory.mktemp("project")
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    shutil.copytree(FIXTURES / "tiny", repo / "fixture")

    params = load_params(repo / "params.yaml")
    params["dataset"] = {"source": "local", "scheme": "iob2", "tag_column": -1,
                         "files": {split: f"fixture/{split}.txt" for split in ("train", "dev", "test")}}
    params["model"] = str(tiny_model_dir)
    params.update(max_length=16, window_overlap=4, epochs=2, batch_size=2, eval_batch_size=8, lr=5e-4)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    env = dict(os.environ, PYTHONPATH=str(repo / "src"), DVC_NO_ANALYTICS="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.invalid",
               GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.invalid")
    git("init", "-q", "-b", "main", cwd=repo, env=env)
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "-m", "project", cwd=repo, env=env)
    return repo, env


@pytest.fixture(scope="module")
def reproduced(project):
    repo, env = project
    dvc("repro", cwd=repo, env=env)
    return repo, env


def test_repro_writes_entity_metrics_for_every_word(reproduced):
    repo, _ = reproduced
    metrics = json.loads((repo / "metrics/eval.json").read_text())
    assert set(metrics) == {"dev", "test"}
    for split in ("dev", "test"):
        scores = metrics[split]
        assert scores["words"] == words_in(FIXTURES / "tiny" / f"{split}.txt")
        for key in ("precision", "recall", "f1", "macro_f1", "token_accuracy"):
            assert 0.0 <= scores[key] <= 1.0, key
        for key in ("precision", "recall", "f1"):
            assert 0.0 <= scores["strict"][key] <= 1.0
        assert set(scores["per_type"]) <= {"PER", "ORG", "LOC", "MISC"}
        assert sum(t["support"] for t in scores["per_type"].values()) == sum(
            json.loads((repo / "metrics/data.json").read_text())[split]["entities"].values())
    # The long dev sentence does not fit max_length=16: it is windowed, and still every word is scored.
    assert json.loads((repo / "metrics/tokenize.json").read_text())["dev"]["windowed_sentences"] >= 1
    predictions = (repo / "data/predictions/test.conll").read_text().splitlines()
    assert sum(1 for line in predictions if line and not line.startswith("-DOCSTART-")) == metrics["test"]["words"]
    curves = repo / "metrics/train/plots/metrics"
    assert len((curves / "train/dev_f1.tsv").read_text().splitlines()) == 1 + 2  # header + one row per epoch
    assert len((curves / "train/loss.tsv").read_text().splitlines()) >= 1 + 2  # steps 1 and 10
    assert (repo / "models/ner/config.json").is_file()


def test_second_repro_reruns_nothing(reproduced):
    repo, env = reproduced
    out = dvc("repro", cwd=repo, env=env).stdout
    assert "Running stage" not in out
    assert "up to date" in out


def test_editing_one_stage_invalidates_only_what_depends_on_it(reproduced):
    repo, env = reproduced
    module = repo / "src/nerflow/evaluate.py"
    original = module.read_text()
    try:
        module.write_text(original + "\n# an edit\n")
        assert set(json.loads(dvc("status", "--json", cwd=repo, env=env).stdout)) == {"evaluate"}
    finally:
        module.write_text(original)


def test_training_on_cpu_is_bit_reproducible(reproduced):
    repo, env = reproduced
    before = (repo / "metrics/eval.json").read_text()
    for stage in ("train", "evaluate"):
        run([sys.executable, "-m", f"nerflow.{stage}"], repo, env)
    assert (repo / "metrics/eval.json").read_text() == before
    # dvc hashes the retrained model folder: identical bytes leave the pipeline up to date.
    assert "up to date" in dvc("status", cwd=repo, env=env).stdout


def test_exp_run_with_set_param_shows_in_exp_show(reproduced):
    repo, env = reproduced
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "-m", "baseline run", cwd=repo, env=env)
    dvc("exp", "run", "-S", "lr=3e-5", cwd=repo, env=env)
    assert load_params(repo / "params.yaml")["lr"] == 3e-5  # dvc writes 3e-05; we read a float
    shown = json.loads(dvc("exp", "show", "--json", cwd=repo, env=env).stdout)
    lrs = []
    for commit in shown:
        for exp in [commit] + [e for run_ in commit.get("experiments") or [] for e in run_.get("revs", [])]:
            data = exp.get("data") or {}
            lr = ((data.get("params") or {}).get("params.yaml") or {}).get("data", {}).get("lr")
            if lr is not None:
                lrs.append(lr)
                if lr == 3e-5:
                    metrics = data["metrics"]["metrics/eval.json"]["data"]
                    assert 0.0 <= metrics["test"]["f1"] <= 1.0
    assert 3e-5 in lrs, shown


def test_plots_and_metrics_render(reproduced):
    repo, env = reproduced
    plots = json.loads(dvc("plots", "show", "--json", cwd=repo, env=env).stdout)["data"]
    [f1_plot] = plots["Dev entity F1 by epoch"]
    assert [row["step"] for row in f1_plot["content"]["data"]["values"]] == ["1", "2"]  # one point per epoch
    [loss_plot] = plots["Training loss by step"]
    assert len(loss_plot["content"]["data"]["values"]) >= 2
    metrics = json.loads(dvc("metrics", "show", "--json", cwd=repo, env=env).stdout)
    shown = next(iter(metrics.values()))["data"]
    assert shown["metrics/eval.json"]["data"]["dev"]["f1"] == json.loads((repo / "metrics/eval.json").read_text())["dev"]["f1"]


def test_benchmark_command_runs_on_the_pipeline_outputs(reproduced):
    repo, env = reproduced
    run([sys.executable, "-m", "nerflow.bench", "--windows", "8", "--repeats", "1"], repo, env)
    report = json.loads((repo / "metrics/bench.json").read_text())
    assert set(report["median"]) == {"train-seed", "train-dynamic-padding", "train-length-grouped", "train-project",
                                     "predict-seed", "predict-project"}
    for path, m in report["median"].items():
        assert m["real_tokens"] > 0 and 0 < m["real_share"] <= 1 and m["seconds"] > 0 and m["peak_memory_mb"] > 0
    # Seed style pads every window to 128: the share of real tokens is what the fixture's windows fill.
    assert report["median"]["train-seed"]["computed_tokens"] == 8 * 128
    assert report["median"]["train-seed"]["speedup"] == 1.0
