"""End to end: the real `dvc repro` on a copy of the project, with the tiny fixture data and a tiny random BERT."""

import csv
import io
import json
import sys
import time

import pytest
import yaml
from conftest import FIXTURES, ROOT, dvc, git, make_project, run, words_in

from nerflow.params import load_params

pytestmark = pytest.mark.slow  # every test runs `dvc repro` or `dvc exp` on a project


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    repo = tmp_path_factory.mktemp("project")
    env = make_project(repo, FIXTURES / "tiny", tiny_model_dir,
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
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
    assert len((curves / "train/dev_score.tsv").read_text().splitlines()) == 1 + 2  # header + one row per epoch
    assert len((curves / "train/loss.tsv").read_text().splitlines()) >= 1 + 2  # steps 1 and 10
    assert (repo / "models/finetuned/config.json").is_file()


def test_evaluate_writes_error_analysis_report_and_plots(reproduced):
    repo, _ = reproduced
    errors = json.loads((repo / "metrics/errors.json").read_text())
    data = json.loads((repo / "metrics/data.json").read_text())
    kinds = ("wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed", "spurious")
    for split in ("dev", "test"):
        assert errors[split]["errors"]["total"] == sum(errors[split]["errors"][k] for k in kinds)
        # Every gold entity is correct, one of the paired kinds, or missed: those can't exceed the gold count.
        paired_or_missed = sum(errors[split]["errors"][k] for k in kinds if k != "spurious")
        assert paired_or_missed <= sum(data[split]["entities"].values())
    report = (repo / "metrics/errors.md").read_text()
    assert "# Error analysis: dev" in report and "# Error analysis: test" in report
    confusion = list(csv.DictReader(io.StringIO((repo / "metrics/plots/confusion.csv").read_text())))
    gold_types = set(data["dev"]["entities"])
    assert {r["actual"] for r in confusion} <= gold_types | {"spurious"}
    assert sum(r["actual"] != "spurious" for r in confusion) == sum(data["dev"]["entities"].values())
    per_type = json.loads((repo / "metrics/plots/per_type_f1.json").read_text())
    assert {r["type"] for r in per_type} <= gold_types and all(0 <= r["f1"] <= 1 for r in per_type)
    for split in ("dev", "test"):
        lines = (repo / f"data/predictions/{split}.conll").read_text().splitlines()
        assert sum(1 for line in lines if line and not line.startswith("-DOCSTART-")) == words_in(FIXTURES / "tiny" / f"{split}.txt")


def test_model_folder_has_card_and_window_settings(reproduced):
    repo, _ = reproduced
    card = (repo / "models/finetuned/README.md").read_text()
    from nerflow.data.files import sha256_of

    assert sha256_of(repo / "fixture/train.txt") in card  # the data it was trained on, by hash
    assert sha256_of(repo / "data/base_model/model.safetensors") in card
    assert '"lr": 0.0005' in card and "nerflow predict models/finetuned" in card
    assert json.loads((repo / "models/finetuned/nerflow.json").read_text()) == {
        "task": "ner", "max_length": 16, "window_overlap": 4, "context": "document", "constrained_decoding": True,
        "language": "en"}


def test_predict_command_tags_text_with_the_trained_model(reproduced):
    repo, env = reproduced
    text = "Peter Blackburn said in Brussels that the European Commission disagreed ."
    out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", text], repo, env).stdout
    [record] = [json.loads(line) for line in out.splitlines()]
    assert record["text"] == text
    from nerflow.tools.predict import load

    assert record["entities"] == load(repo / "models/finetuned")(text)  # the command line gives what the API gives
    for entity in record["entities"]:
        assert text[entity["start"]:entity["end"]] == entity["text"] and 0 <= entity["score"] <= 1


def test_second_repro_reruns_nothing(reproduced):
    repo, env = reproduced
    out = dvc("repro", cwd=repo, env=env).stdout
    assert "Running stage" not in out
    assert "up to date" in out


def test_editing_one_stage_invalidates_only_what_depends_on_it(reproduced):
    repo, env = reproduced
    module = repo / "src/nerflow/stages/evaluate.py"
    original = module.read_text()
    try:
        module.write_text(original + "\n# an edit\n")
        assert set(json.loads(dvc("status", "--json", "dvc.yaml", cwd=repo, env=env).stdout)) == {"evaluate"}
    finally:
        module.write_text(original)
    params_file = repo / "params.yaml"
    original = params_file.read_text()
    try:  # a parse-only key of the dataset block: the files are read again, not fetched again
        params = yaml.safe_load(original)
        params["dataset"]["repair"] = True
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert set(json.loads(dvc("status", "--json", "dvc.yaml", cwd=repo, env=env).stdout)) == {"params"}
        dvc("repro", "params", cwd=repo, env=env)  # the values each stage reads, written to data/params/
        assert set(json.loads(dvc("status", "--json", "dvc.yaml", cwd=repo, env=env).stdout)) == {"preprocess"}
    finally:
        params_file.write_text(original)
        dvc("repro", "params", cwd=repo, env=env)
    assert "up to date" in dvc("status", "dvc.yaml", cwd=repo, env=env).stdout


def test_training_on_cpu_is_bit_reproducible(reproduced):
    repo, env = reproduced
    before = (repo / "metrics/eval.json").read_text()
    for stage in ("train", "evaluate"):
        run([sys.executable, "-m", f"nerflow.stages.{stage}"], repo, env)
    assert (repo / "metrics/eval.json").read_text() == before
    # dvc hashes the retrained model folder: identical bytes leave the pipeline up to date.
    assert "up to date" in dvc("status", "dvc.yaml", cwd=repo, env=env).stdout


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
    shown = dvc("plots", "show", cwd=repo, env=env)
    assert "WARNING" not in shown.stdout + shown.stderr  # every plot's file is there for this task
    plots = json.loads(dvc("plots", "show", "--json", cwd=repo, env=env).stdout)["data"]
    [f1_plot] = plots["Dev score by epoch (NER entity F1, classification accuracy)"]
    assert [row["step"] for row in f1_plot["content"]["data"]["values"]] == ["1", "2"]  # one point per epoch
    [loss_plot] = plots["Loss by step (train, and dev after each epoch)"]
    loss_values = loss_plot["content"]["data"]["values"]
    train_steps = [int(row["step"]) for row in loss_values if "loss" in row]
    dev_steps = [int(row["step"]) for row in loss_values if "dev_loss" in row]
    assert len(train_steps) >= 2 and len(dev_steps) == 2  # dev loss once per epoch (2 epochs)
    assert dev_steps[-1] >= max(train_steps) and all(float(r["dev_loss"]) > 0 for r in loss_values if "dev_loss" in r)
    [confusion] = plots["Dev confusion (NER entity types with missed and spurious, or classes)"]
    assert confusion["content"]["data"]["values"] and "actual" in confusion["content"]["data"]["values"][0]
    [per_type] = plots["Dev F1 by entity type or class"]
    assert {row["type"] for row in per_type["content"]["data"]["values"]}
    metrics = json.loads(dvc("metrics", "show", "--json", cwd=repo, env=env).stdout)
    shown = next(iter(metrics.values()))["data"]
    assert shown["metrics/eval.json"]["data"]["dev"]["f1"] == json.loads((repo / "metrics/eval.json").read_text())["dev"]["f1"]


def test_speed_benchmark_runs_on_the_pipeline_outputs(reproduced):
    repo, env = reproduced
    speed = str(ROOT / "benchmarks" / "speed.py")
    run([sys.executable, speed, "--windows", "8", "--repeats", "1"], repo, env)
    report = json.loads((repo / "metrics/bench.json").read_text())
    assert set(report["median"]) == {"train", "predict"}
    for path, m in report["median"].items():
        assert m["real_tokens"] > 0 and m["seconds"] > 0 and m["peak_memory_mb"] > 0
    train = report["median"]["train"]
    # The CPU's eager steps pad each batch to its own longest window: real tokens are most of what is computed.
    assert 0.5 < train["real_share"] <= 1 and train["windows"] == 8
    run([sys.executable, speed, "--profile", "train", "--windows", "8", "--output", "profile.json"], repo, env)
    profiled = json.loads((repo / "profile.json").read_text())
    assert profiled["real_tokens"] == train["real_tokens"] and profiled["seconds"] > 0
    assert "aten::" in profiled["top_operators"]  # the profiler saw the training step's operators


def test_queued_sweep_runs_and_exp_show_sorts_by_dev_f1(reproduced):
    repo, env = reproduced
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "--allow-empty", "-m", "before sweep", cwd=repo, env=env)
    dvc("exp", "run", "--queue", "-S", "lr=1e-3,2e-3", cwd=repo, env=env)
    dvc("queue", "start", cwd=repo, env=env)
    deadline = time.time() + 600
    while time.time() < deadline:
        status = dvc("queue", "status", cwd=repo, env=env).stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(2)
    assert "Failed" not in status, dvc("queue", "logs", status.split()[0], cwd=repo, env=env, check=False).stdout
    table = dvc("exp", "show", "--csv", "--drop", ".*", "--keep", "^Experiment$|^lr$|^dev.f1$",
                "--sort-by", "metrics/eval.json:dev.f1", "--sort-order", "desc", cwd=repo, env=env).stdout
    rows = [line.split(",") for line in table.splitlines()[1:] if line]
    header = table.splitlines()[0].split(",")
    name, lr, f1 = header.index("Experiment"), header.index("lr"), header.index("dev.f1")
    swept = [(float(r[f1]), float(r[lr])) for r in rows if r[lr] in ("0.001", "0.002")]
    assert len(swept) == 2, table
    ranked = [f1_value for f1_value, _ in swept]  # DVC sorts the experiments under their baseline's row
    assert ranked == sorted(ranked, reverse=True)  # the first experiment is the best
    # The two experiments side by side: every plot holds both revisions' data.
    names = [r[name] for r in rows if r[lr] in ("0.001", "0.002")]
    plots = json.loads(dvc("plots", "diff", "--json", *names, cwd=repo, env=env).stdout)["data"]
    for title in ("Dev score by epoch (NER entity F1, classification accuracy)",
                  "Dev confusion (NER entity types with missed and spurious, or classes)", "Dev F1 by entity type or class"):
        values = [v for entry in plots[title] for v in entry["content"]["data"]["values"]]
        assert {v["rev"] for v in values} == set(names), (title, values[:3])
    # A second seed of lr 1e-3: nerflow seeds shows that setting over both seeds, the others over one.
    dvc("exp", "run", "-S", "lr=1e-3", "-S", "seed=43", cwd=repo, env=env)
    result = run([sys.executable, "-m", "nerflow.tools.cli", "seeds"], repo, env)
    rows = {line.split(" | ")[1]: line.split(" | ") for line in result.stdout.splitlines() if line.startswith("| ")
            and line.split(" | ")[1] in ("0.001", "0.002")}
    assert rows["0.001"][2] == "42, 43" and rows["0.002"][2] == "42", result.stdout


def test_sentence_context_reads_each_sentence_alone(reproduced, tmp_path, tiny_model_dir):
    """The default, context: document, reads each fixture document's sentences in shared windows; with
    context: sentence, every sentence has its own windows as before. Both score every word once."""
    repo, _ = reproduced
    env = make_project(tmp_path, FIXTURES / "tiny", tiny_model_dir,
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
    params = load_params(tmp_path / "params.yaml")
    params["context"] = "sentence"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc("repro", cwd=tmp_path, env=env)
    by_document, by_sentence = (json.loads((folder / "metrics/tokenize.json").read_text()) for folder in (repo, tmp_path))
    for split in ("train", "dev", "test"):  # a window per sentence, and more for each windowed one
        assert by_sentence[split]["windows"] >= by_sentence[split]["sentences"] + by_sentence[split]["windowed_sentences"]
    # At max_length 16 most fixture sentences are windowed alone; the others' windows fill up with their neighbours.
    assert by_document["train"]["windows"] <= by_sentence["train"]["windows"]
    assert by_document["train"]["pieces"] > by_sentence["train"]["pieces"]
    assert [json.loads((folder / "data/tokenized/settings.json").read_text())["context"]
            for folder in (repo, tmp_path)] == ["document", "sentence"]
    for split in ("dev", "test"):
        scored = [json.loads((folder / "metrics/eval.json").read_text())[split]["words"] for folder in (repo, tmp_path)]
        assert scored == [words_in(FIXTURES / "tiny" / f"{split}.txt")] * 2


def test_own_data_disease_notes_iob1_tab_separated(tmp_path, tiny_model_dir):
    """The README's own-data example: hand-written clinical sentences, IOB1 tags, a tab-separated file."""
    fixture = FIXTURES / "disease_notes"
    env = make_project(tmp_path, fixture, tiny_model_dir, format="conll", scheme="iob1", separator="\t",
                       token_column=0, tag_column=1,
                       files={split: f"fixture/{split}.tsv" for split in ("train", "dev", "test")})
    dvc("repro", cwd=tmp_path, env=env)
    assert json.loads((tmp_path / "data/processed/labels.json").read_text()) == ["O", "B-DISEASE", "I-DISEASE"]
    data = json.loads((tmp_path / "metrics/data.json").read_text())
    assert data["train"]["sentences"] == 36 and data["train"]["entities"] == {"DISEASE": 39}
    metrics = json.loads((tmp_path / "metrics/eval.json").read_text())
    for split in ("dev", "test"):
        assert metrics[split]["words"] == words_in(fixture / f"{split}.tsv")
        assert set(metrics[split]["per_type"]) <= {"DISEASE"}
    # Predictions are written back in the input's scheme: the gold column equals the file's IOB1 tags.
    gold = [line.split("\t")[1] for line in (fixture / "test.tsv").read_text().splitlines() if line]
    written = [line.split(" ")[1] for line in (tmp_path / "data/predictions/test.conll").read_text().splitlines()
               if line and not line.startswith("-DOCSTART-")]
    assert written == gold
