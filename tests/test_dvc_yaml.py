"""dvc.yaml as the map: a stage's deps are exactly the code it runs, for the task and the tuning in params.yaml (its
templated deps resolved as DVC resolves them), so that editing a module reruns the stages that run it and no other;
and the package's layers import downwards only. (tests/test_reruns.py checks the same with DVC itself.)"""

import importlib.util
import re
from pathlib import Path

import yaml

from nerflow.params import TASKS
from nerflow.tasks import STAGES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "nerflow"
spec = importlib.util.spec_from_file_location("reruns", ROOT / "scripts" / "reruns.py")
reruns = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reruns)
# The package's layers, top first: each imports only from layers below it (docs/layout.md); params.py, below them
# all, imports only paths.py, which imports nothing of the package.
RANK = {"stages": 0, "tools": 0, "tasks": 1, "training": 2, "data": 3, "params": 4, "paths": 5}


def code_deps(stage: dict, values: dict) -> list:
    """The stage's deps under src/, ${key} resolved from `values` as DVC resolves them from params.yaml."""
    deps = [re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), dep) for dep in stage["deps"]]
    return [dep for dep in deps if dep.startswith("src/")]


def covered(path: str, deps: list) -> bool:
    return any(path == dep or path.startswith(dep + "/") for dep in deps)


def pipeline_stages() -> dict:
    """The stages of dvc.yaml and of the opt-in export/dvc.yaml (whose paths are the root's: wdir ..)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    export = yaml.safe_load((ROOT / "export" / "dvc.yaml").read_text())["stages"]
    assert all(stage["wdir"] == ".." for stage in export.values())
    return {**stages, **export}


def test_a_stages_deps_are_the_code_it_runs_for_each_task_and_tuning():
    stages = pipeline_stages()
    # predict is no stage: its parts are deps of nothing
    assert list(stages) == ["params", "download", *STAGES[:4], "export"]
    for task in TASKS:
        for tuning in ("full", "lora"):
            for name, stage in stages.items():
                assert stage["cmd"] == f"python -m nerflow.stages.{name}"
                deps, ran = code_deps(stage, {"task": task, "tuning": tuning}), reruns.runs(name, task, tuning)
                missing = sorted(path for path in ran if not covered(path, deps))
                assert not missing, f"dvc.yaml stage {name} runs {missing} (task {task}) but does not list them as deps"
                for dep in deps:
                    files = [str(p.relative_to(ROOT)) for p in (ROOT / dep).rglob("*.py")] if (ROOT / dep).is_dir() \
                        else [dep]
                    stale = sorted(set(files) - ran)
                    assert files and not stale, f"dvc.yaml stage {name} lists {dep}, whose {stale} it does not run " \
                                                f"(task {task}, tuning {tuning})"


def test_a_task_is_its_parts_and_a_stage_asks_only_for_its_own():
    """Every task has the same paths (dvc.yaml's templated deps), and a part imports no later stage's part: a
    change to how a model is scored reruns no preprocess."""
    for task in TASKS:
        folder = PACKAGE / "tasks" / task
        assert {p.name for p in folder.iterdir() if p.name != "__pycache__"} == {"__init__.py", "records.py", *STAGES}
        for earlier, later in [("preprocess", "tokenize"), ("preprocess", "train"), ("tokenize", "train"),
                               ("preprocess", "evaluate"), ("tokenize", "evaluate"), ("train", "evaluate")]:
            for path in (folder / earlier).rglob("*.py"):
                assert not any(name.startswith(f"nerflow.tasks.{task}.{later}") for name in reruns.direct_imports(path)), \
                    f"{path.relative_to(ROOT)} ({earlier}) imports the {later} part"


def test_the_table_of_what_reruns_when_is_current():
    assert reruns.read_table(reruns.DOC.read_text()) == reruns.reruns(), \
        "docs/reruns.md's table is stale: run python scripts/reruns.py"


def test_layers_import_downwards_only():
    checked = 0
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).with_suffix("").parts[0]
        if layer not in RANK:
            continue
        for name in reruns.direct_imports(path) - {"nerflow"}:
            target = name.split(".")[1]
            if target != layer:
                checked += 1
                assert RANK[target] > RANK[layer], f"{path.relative_to(ROOT)} ({layer}) imports {name}, not a layer below it"
    assert checked > 50  # the walk saw the package's imports
