"""End to end for the classification tasks: `dvc repro` on a copy of the project with the review (one text,
bz2-compressed CSV train) and NLI-style pair (JSON lines) fixtures and a tiny random BERT."""

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from conftest import dvc, git, make_project, run

pytestmark = pytest.mark.slow  # `dvc repro` of classification projects

FIXTURES = Path(__file__).parent / "fixtures"
REVIEWS = dict(format="csv", files={"train": "fixture/train.csv.bz2", "test": "fixture/test.csv"},
               columns={"text": "text", "text_pair": None, "label": "category"}, drop_labels=["plot"],
               split={"dev": 0.2, "seed": 3})
PAIRS = dict(format="jsonl", files={"train": "fixture/train.jsonl", "test": "fixture/test.jsonl"},
             columns={"text": "sentence1", "text_pair": "sentence2", "label": "gold_label"}, drop_labels=["-"],
             split={"dev": 0.2, "seed": 3})


def labelled_rows(path: Path, label_field: str, dropped: str) -> int:
    if path.suffix == ".jsonl":
        return sum(json.loads(line)[label_field] != dropped for line in path.read_text().splitlines())
    return sum(row[label_field] != dropped for row in csv.DictReader(io.StringIO(path.read_text())))


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, tiny_model_dir):
    repo = tmp_path_factory.mktemp("reviews")
    env = make_project(repo, FIXTURES / "reviews", tiny_model_dir, top={"task": "classification", "epochs": 3},
                       **REVIEWS)
    dvc("repro", cwd=repo, env=env)
    return repo, env


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, tiny_model_dir):
    repo = tmp_path_factory.mktemp("pairs")
    env = make_project(repo, FIXTURES / "pairs", tiny_model_dir, top={"task": "classification", "max_length": 24},
                       **PAIRS)
    dvc("repro", cwd=repo, env=env)
    return repo, env


def test_reviews_repro_scores_every_labelled_example(reviews):
    repo, env = reviews
    assert sorted(p.name for p in (repo / "data/raw").iterdir()) == ["test.csv", "train.csv.bz2"]  # as fetched
    data = json.loads((repo / "metrics/data.json").read_text())
    metrics = json.loads((repo / "metrics/eval.json").read_text())
    tokenized = json.loads((repo / "metrics/tokenize.json").read_text())
    assert metrics["test"]["examples"] == data["test"]["examples"] == labelled_rows(FIXTURES / "reviews/test.csv", "category", "plot")
    assert data["test"]["dropped"]["drop_labels"] > 0 and data["train"]["dropped"]["drop_labels"] > 0
    split_off = data["train"]["split_off"]
    assert split_off == {"dev": data["dev"]["examples"]} and data["dev"]["records"] == 0  # no dev file: split off train
    for split in ("train", "test"):  # every record read is kept, dropped for its label, or split off
        counts = data[split]
        assert counts["records"] == counts["examples"] + sum(counts["dropped"].values()) + sum(counts.get("split_off", {}).values())
    assert set(metrics["dev"]["per_class"]) == {"fresh", "rotten"} == set(data["train"]["labels"])
    for split in ("dev", "test"):
        scores = metrics[split]
        assert sum(c["support"] for c in scores["per_class"].values()) == scores["examples"]
        correct = sum(r["label"] == r["predicted"] for r in map(json.loads, (repo / f"data/predictions/{split}.jsonl").read_text().splitlines()))
        assert scores["accuracy"] == correct / scores["examples"]  # the predictions written are the ones scored
        assert scores["truncated"] == tokenized[split]["truncated"]
    assert tokenized["train"]["truncated"] > 0  # max_length 16 cuts the long reviews, and they are counted
    errors = json.loads((repo / "metrics/errors.json").read_text())
    assert errors["dev"]["errors"] == round((1 - metrics["dev"]["accuracy"]) * metrics["dev"]["examples"])
    assert "# Error analysis: test" in (repo / "metrics/errors.md").read_text()
    curve = (repo / "metrics/train/plots/metrics/train/dev_score.tsv").read_text().splitlines()
    shown = dvc("plots", "show", cwd=repo, env=env)
    assert "WARNING" not in shown.stdout + shown.stderr  # NER's plots hold for classification: no file missing
    assert [line.split("\t")[0] for line in curve] == ["step", "1", "2", "3"]
    assert json.loads((repo / "models/finetuned/nerflow.json").read_text()) == {"task": "classification", "max_length": 16, "pair": False}
    assert "Dev accuracy by epoch" in (repo / "models/finetuned/README.md").read_text()


def test_reviews_model_predicts_from_the_command_line_the_api_and_transformers(reviews):
    repo, env = reviews
    text = "the film is warm and brilliant."
    out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", text], repo, env).stdout
    [record] = [json.loads(line) for line in out.splitlines()]
    from transformers import pipeline

    from nerflow.tools.predict import load

    ours = load(repo / "models/finetuned")(text)
    assert record == {"text": text, **ours} and ours["label"] in {"fresh", "rotten"}
    theirs = pipeline("text-classification", model=str(repo / "models/finetuned"), device="cpu")(text)[0]
    assert theirs["label"] == ours["label"] and theirs["score"] == pytest.approx(ours["score"], abs=1e-3)


def test_reviews_exp_run_and_plots(reviews):
    repo, env = reviews
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "-m", "baseline run", cwd=repo, env=env)
    dvc("exp", "run", "-S", "lr=3e-5", cwd=repo, env=env)
    shown = json.loads(dvc("exp", "show", "--json", cwd=repo, env=env).stdout)
    found = [exp["data"]["metrics"]["metrics/eval.json"]["data"]["test"]["accuracy"]
             for commit in shown for run_ in commit.get("experiments") or [] for exp in run_.get("revs", [])
             if (exp.get("data") or {}).get("params", {}).get("params.yaml", {}).get("data", {}).get("lr") == 3e-5]
    assert len(found) == 1, shown
    plots = json.loads(dvc("plots", "show", "--json", cwd=repo, env=env).stdout)["data"]
    [accuracy] = plots["Dev score by epoch (NER entity F1, classification accuracy)"]
    assert [row["step"] for row in accuracy["content"]["data"]["values"]] == ["1", "2", "3"]
    [confusion] = plots["Dev confusion (NER entity types with missed and spurious, or classes)"]
    assert {row["actual"] for row in confusion["content"]["data"]["values"]} <= {"fresh", "rotten"}


def test_pairs_repro_and_predict_pairs(pairs):
    repo, env = pairs
    metrics = json.loads((repo / "metrics/eval.json").read_text())
    assert metrics["test"]["examples"] == labelled_rows(FIXTURES / "pairs/test.jsonl", "gold_label", "-")
    assert set(metrics["test"]["per_class"]) == {"entailment", "contradiction", "neutral"}
    premise, hypothesis = "a man plays a guitar.", "a man makes music."
    out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", premise, hypothesis], repo, env).stdout
    [record] = [json.loads(line) for line in out.splitlines()]
    from nerflow.tools.predict import load

    assert record == {"text": premise, "text_pair": hypothesis, **load(repo / "models/finetuned")(premise, hypothesis)}
    lines = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "--file", "-"], repo, env,
                input=f"{premise}\t{hypothesis}\n").stdout
    assert json.loads(lines)["label"] == record["label"]
    odd = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", premise], repo, env, check=False)
    assert odd.returncode == 1 and "two at a time" in odd.stderr
