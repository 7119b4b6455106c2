"""What reruns when, asked of DVC itself: in a copy of the project whose pipeline has run (the tiny fixtures), every
module of src/nerflow is edited in turn, and `dvc status` must name exactly the stages docs/reruns.md's table gives
it, for the NER default and for classification."""

import importlib.util
import json

import pytest
import yaml
from conftest import FIXTURES, ROOT, dvc, make_project

spec = importlib.util.spec_from_file_location("reruns", ROOT / "scripts" / "reruns.py")
reruns = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reruns)
TABLE = reruns.read_table(reruns.DOC.read_text())
COLUMN = {task: i for i, (_, task, tuning) in enumerate(reruns.COLUMNS) if tuning == "full"}


def stages_rerun(repo, env) -> dict:
    """{module: the stages `dvc status` says changed} after an edit (a comment appended) to each module alone."""
    found = {}
    for module in TABLE:
        path = repo / module
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        try:
            found[module] = sorted(name.rpartition(":")[2]  # export/dvc.yaml:export -> export
                                   for name in json.loads(dvc("status", "--json", cwd=repo, env=env).stdout))
        finally:
            path.write_bytes(original)
    return found


def check(repo, env, task: str) -> dict:
    dvc("repro", "export/dvc.yaml", cwd=repo, env=env)  # the opt-in stage too: the table says what it reruns
    assert json.loads(dvc("status", "--json", cwd=repo, env=env).stdout) == {}  # every stage has run
    found = stages_rerun(repo, env)
    expected = {module: sorted(stages[COLUMN[task]]) for module, stages in TABLE.items()}
    wrong = {module: (found[module], expected[module]) for module in TABLE if found[module] != expected[module]}
    assert not wrong, f"task {task}: module -> (dvc status, docs/reruns.md): {wrong}"
    return found


@pytest.mark.slow
def test_an_edit_reruns_what_the_table_says_ner(tmp_path, tiny_model_dir):
    env = make_project(tmp_path, FIXTURES / "tiny", tiny_model_dir, format="conll",
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
    dvc("repro", cwd=tmp_path, env=env)
    found = check(tmp_path, env, "ner")
    # The cases that made this table: a report, another task, a tool, an unused tuning, the loop, a reader.
    assert found["src/nerflow/tasks/ner/evaluate/errors.py"] == ["evaluate", "export"]  # export scores with it
    assert found["src/nerflow/tasks/classification/evaluate/__init__.py"] == []
    assert found["src/nerflow/tasks/ner/predict/__init__.py"] == found["src/nerflow/tools/report.py"] == []
    assert found["src/nerflow/training/tuning/lora.py"] == []
    assert found["src/nerflow/training/loop.py"] == ["train"]
    assert found["src/nerflow/tasks/ner/preprocess/conll.py"] == ["preprocess"]
    assert found["src/nerflow/params.py"] == ["params"]  # its values are what the stages depend on, not its code


@pytest.mark.slow
def test_a_key_left_out_takes_the_schemas_default_and_a_changed_default_reruns_what_it_shapes(tmp_path, tiny_model_dir):
    env = make_project(tmp_path, FIXTURES / "tiny", tiny_model_dir, format="conll",
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    assert params.pop("eval_batch_size") == 8
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc("repro", cwd=tmp_path, env=env)
    assert yaml.safe_load((tmp_path / "data/params/evaluate.yaml").read_text())["eval_batch_size"] == 128
    schema = tmp_path / "src/nerflow/params.py"
    text = schema.read_text()
    assert text.count("eval_batch_size: Annotated[int, Ge(1)] = param(\n        128,") == 1
    schema.write_text(text.replace("eval_batch_size: Annotated[int, Ge(1)] = param(\n        128,",
                                   "eval_batch_size: Annotated[int, Ge(1)] = param(\n        64,"))
    assert sorted(json.loads(dvc("status", "--json", "dvc.yaml", cwd=tmp_path, env=env).stdout)) == ["params"]
    dvc("repro", "params", cwd=tmp_path, env=env)
    assert sorted(json.loads(dvc("status", "--json", "dvc.yaml", cwd=tmp_path, env=env).stdout)) == ["evaluate", "train"]


@pytest.mark.slow
def test_an_edit_reruns_what_the_table_says_classification(tmp_path, tiny_model_dir):
    env = make_project(tmp_path, FIXTURES / "reviews", tiny_model_dir, top={"task": "classification"}, format="csv",
                       files={"train": "fixture/train.csv.bz2", "test": "fixture/test.csv"},
                       columns={"text": "text", "text_pair": None, "label": "category"}, drop_labels=["plot"],
                       split={"dev": 0.2, "test": 0.1, "seed": 3})
    dvc("repro", cwd=tmp_path, env=env)
    found = check(tmp_path, env, "classification")
    assert found["src/nerflow/tasks/ner/evaluate/errors.py"] == []
    assert found["src/nerflow/tasks/classification/preprocess/tables.py"] == ["preprocess"]
