"""The task seam: a task of one's own, a package of a few lines under src/nerflow/tasks, runs through all five stages
with `dvc repro` and `nerflow predict`, and no stage compares the task's name."""

import ast
import json
import sys

import pytest
import yaml
from conftest import ROOT, dvc, make_project, run

from nerflow.params import TASKS

# Is a text longer than four words? A task whose files are plain lines and whose labels come from the text: its
# preprocess part is its own, the other parts are classification's.
TOY_TASK = {
    "__init__.py": '"""Is a text longer than four words?"""\n',
    "records.py": "from nerflow.tasks.classification.records import UNIT, Example  # noqa: F401\n",
    "preprocess/__init__.py": '''
from nerflow.data.textfiles import text_lines
from nerflow.tasks.classification import preprocess
from nerflow.tasks.classification.records import Example


class Preprocess(preprocess.Preprocess):
    def read_options(self, dataset):
        return None

    def read_file(self, path, options, name, counts):
        for number, line in text_lines(path, []):
            counts.records += 1
            yield Example(text=line, line=number, label="long" if len(line.split()) > 4 else "short")
''',
    **{f"{part}/__init__.py": f"from nerflow.tasks.classification.{part} import {part.capitalize()}  # noqa: F401\n"
       for part in ("tokenize", "train", "evaluate", "predict")},
}


@pytest.mark.slow
def test_a_task_of_ones_own_runs_through_every_stage(tmp_path, tiny_model_dir):
    fixture = tmp_path / "lines"
    fixture.mkdir()
    words = "peter said in brussels that the european commission disagreed with germany".split()
    for split, count in (("train", 40), ("dev", 12), ("test", 12)):
        (fixture / f"{split}.txt").write_text("".join(" ".join(words[i % 5:i % 5 + 2 + i % 6]) + "\n" for i in range(count)))
    repo = tmp_path / "repo"
    repo.mkdir()
    env = make_project(repo, fixture, tiny_model_dir, top={"task": "toy"}, format="csv",
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
    for name, code in TOY_TASK.items():
        path = repo / "src/nerflow/tasks/toy" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    dvc("repro", cwd=repo, env=env)
    data = json.loads((repo / "metrics/data.json").read_text())
    assert data["train"]["records"] == data["train"]["examples"] == 40
    assert set(data["train"]["labels"]) == {"long", "short"}
    scores = json.loads((repo / "metrics/eval.json").read_text())
    for split in ("dev", "test"):
        assert scores[split]["examples"] == 12 and set(scores[split]["per_class"]) == {"long", "short"}
    assert json.loads((repo / "models/finetuned/nerflow.json").read_text())["task"] == "toy"
    out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "one two"], repo, env).stdout
    assert json.loads(out)["label"] in ("long", "short")
    assert "Running stage" not in dvc("repro", cwd=repo, env=env).stdout
    (repo / "src/nerflow/tasks/toy/preprocess/__init__.py").write_text(TOY_TASK["preprocess/__init__.py"] + "# edited\n")
    changed = json.loads(dvc("status", "--json", "dvc.yaml", cwd=repo, env=env).stdout)
    assert sorted(changed) == ["preprocess"]  # its own code is a dependency of the stage that runs it


def test_no_stage_compares_the_task_name():
    for stage in (ROOT / "src/nerflow/stages").glob("*.py"):
        tree = ast.parse(stage.read_text())
        named = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in TASKS]
        assert not named, f"{stage.name} names the tasks {named}: ask for the task's part (nerflow.tasks.task_part)"
        compared = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Compare)
                    and "task" in ast.unparse(node)]
        assert not compared, f"{stage.name} compares the task: {compared}"


def test_an_unknown_task_is_named_with_the_choices():
    from nerflow.tasks import task_part

    with pytest.raises(ValueError, match="task is 'sentiment'; expected the name of a task package under "
                                         "src/nerflow/tasks with a preprocess part: classification, ner"):
        task_part({"task": "sentiment"}, "preprocess")
    assert yaml.safe_load((ROOT / "params.yaml").read_text())["task"] in TASKS
