"""The task seam: a task of one's own, a few lines in a module beside params.yaml, runs through all five stages
with `dvc repro` and `nerflow predict`, and no stage compares the task's name."""

import ast
import json
import sys

import pytest
import yaml
from conftest import ROOT, dvc, make_project, run

from nerflow.tasks import BUILTIN

TOY_TASK = '''
"""Is a text longer than four words? A task whose files are plain lines and whose labels come from the text."""
from nerflow.data.textfiles import text_lines
from nerflow.tasks.classification import Example, TextClassification


class TextLength(TextClassification):
    def read_options(self, dataset):
        return None

    def read_file(self, path, options, name, counts):
        for number, line in text_lines(path, []):
            counts.records += 1
            yield Example(text=line, line=number, label="long" if len(line.split()) > 4 else "short")
'''


@pytest.mark.slow
def test_a_task_of_ones_own_runs_through_every_stage(tmp_path, tiny_model_dir):
    fixture = tmp_path / "lines"
    fixture.mkdir()
    words = "peter said in brussels that the european commission disagreed with germany".split()
    for split, count in (("train", 40), ("dev", 12), ("test", 12)):
        (fixture / f"{split}.txt").write_text("".join(" ".join(words[i % 5:i % 5 + 2 + i % 6]) + "\n" for i in range(count)))
    repo = tmp_path / "repo"
    repo.mkdir()
    env = make_project(repo, fixture, tiny_model_dir, top={"task": "toytask:TextLength"}, format="conll",
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
    (repo / "toytask.py").write_text(TOY_TASK)  # where the stages run: importable as toytask
    dvc("repro", cwd=repo, env=env)
    data = json.loads((repo / "metrics/data.json").read_text())
    assert data["train"]["records"] == data["train"]["examples"] == 40
    assert set(data["train"]["labels"]) == {"long", "short"}
    scores = json.loads((repo / "metrics/eval.json").read_text())
    for split in ("dev", "test"):
        assert scores[split]["examples"] == 12 and set(scores[split]["per_class"]) == {"long", "short"}
    assert json.loads((repo / "models/finetuned/nerflow.json").read_text())["task"] == "toytask:TextLength"
    out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "one two"], repo, env).stdout
    assert json.loads(out)["label"] in ("long", "short")
    assert "Running stage" not in dvc("repro", cwd=repo, env=env).stdout


def test_no_stage_compares_the_task_name():
    for stage in (ROOT / "src/nerflow/stages").glob("*.py"):
        tree = ast.parse(stage.read_text())
        named = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in BUILTIN]
        assert not named, f"{stage.name} names the tasks {named}: ask the task (nerflow.tasks.task_for) instead"
        compared = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Compare)
                    and "task" in ast.unparse(node)]
        assert not compared, f"{stage.name} compares the task: {compared}"


def test_an_unknown_task_is_named_with_the_choices():
    from nerflow.tasks import task_for

    with pytest.raises(ValueError, match="task is 'sentiment'; expected ner, text-classification"):
        task_for({"task": "sentiment"})
    with pytest.raises(ValueError, match="cannot import Nothing from nerflow.tasks.base"):
        task_for({"task": "nerflow.tasks.base:Nothing"})
    assert yaml.safe_load((ROOT / "params.yaml").read_text())["task"] in BUILTIN
