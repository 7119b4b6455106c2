"""The benchmark scripts whose figures BENCHMARKS.md reports run on the fixtures as they run on CoNLL-2003: each writes
its JSON (and curves) from what the stages and tools themselves produce."""

import json
import subprocess
import sys

import pytest
from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow  # each runs stages in scratch projects


def script(name: str, *args):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *map(str, args)], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_active_learning_simulation_writes_both_curves(tmp_path, tiny_model_dir):
    output, curves = tmp_path / "active.json", tmp_path / "curves"
    script("active.py", "--raw", FIXTURES / "tiny", "--base-model", tiny_model_dir, "--seeds", "1,2", "--seed-size", 4,
           "--budget", 2, "--rounds", 2, "--dev-sentences", 2, "--min-steps", 2, "--scratch", tmp_path / "scratch",
           "--output", output, "--curves", curves)
    report = json.loads(output.read_text())
    for strategy in ("margin", "random"):
        for seed in ("1", "2"):
            points = report["runs"][strategy][seed]
            assert [p["sentences"] for p in points] == [4, 6, 8]  # the seed set, then a budget a round
            assert points[0] == report["runs"]["random" if strategy == "margin" else "margin"][seed][0]  # shared start
        lines = (curves / f"{strategy}.tsv").read_text().splitlines()
        assert lines[0] == "annotated_tokens\tdev_f1" and len(lines) == 4



def test_the_committed_curves_are_the_plot_benchmarks_shows():
    """BENCHMARKS.md's `dvc plots show metrics/active/dvc.yaml`, as JSON: both curves of metrics/active, as the script
    wrote them."""
    result = subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "--json", "metrics/active/dvc.yaml"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    plot = json.loads(result.stdout)["data"]["Active learning, dev entity F1 by annotated tokens"]
    shown = {(row["filename"], row["annotated_tokens"], row["dev_f1"]) for row in plot[0]["content"]["data"]["values"]}
    written = {(f"{strategy}.tsv", *line.split("\t")) for strategy in ("margin", "random")
               for line in (ROOT / "metrics" / "active" / f"{strategy}.tsv").read_text().splitlines()[1:]}
    assert shown == written and len(written) == 8

def test_the_span_benchmark_compares_words_entities_and_time(tmp_path, tiny_model_dir):
    output = tmp_path / "spans.json"
    script("spans_against_tokens.py", "--raw", FIXTURES / "tiny", "--base-model", tiny_model_dir, "--runs", 1,
           "--scratch", tmp_path / "scratch", "--output", output)
    report = json.loads(output.read_text())
    assert report["entities"]["token"] == report["entities"]["spans"] and report["entities_by_type_equal"]
    assert report["words_in_runs_equal_to_the_token_files"]["train"] <= report["words"]["token"]["train"]
    assert report["preprocess"]["runs"] == 1 and report["preprocess"]["ratio"] > 0


def test_the_commands_benchmark_times_rank_predict_and_both_runtimes(tmp_path, ner_model_dir):
    import shutil

    from transformers import AutoModelForTokenClassification

    from nerflow.training.onnx import export

    onnx = tmp_path / "onnx"
    shutil.copytree(ner_model_dir, onnx)
    export(AutoModelForTokenClassification.from_pretrained(ner_model_dir), onnx)
    (onnx / "model.safetensors").unlink()
    output = tmp_path / "commands.json"
    script("commands.py", "--pool", FIXTURES / "tiny/dev.txt", "--model", ner_model_dir, "--onnx", onnx, "--runs", 1,
           "--output", output)
    report = json.loads(output.read_text())
    assert report["rank_against_predict"]["texts"] > 0 and report["rank_against_predict"]["ratio"] > 0
    assert set(report["start_to_first_answer"]["median_s"]) == {"torch", "onnx"}
