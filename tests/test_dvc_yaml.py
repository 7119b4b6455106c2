"""dvc.yaml as the map: every module a stage runs is one of its deps, so editing it reruns the stage; and the
package's layers import downwards only."""

import ast
from pathlib import Path

import yaml

from nerflow.tasks import BUILTIN

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "nerflow"
# Reading params.yaml does not shape a stage's outputs (the params a stage reads are listed as params); the
# package's own __init__ is its map, a docstring.
NOT_DEPS = {"src/nerflow/params.py", "src/nerflow/__init__.py"}
# The package's layers, top first: each imports only from layers below it (README "Layout"); paths.py and
# params.py, below them all, import nothing of the package.
RANK = {"stages": 0, "tools": 0, "tasks": 1, "training": 2, "data": 3, "paths": 4, "params": 4}


def direct_imports(path: Path) -> set:
    """The nerflow modules `path` imports (anywhere in it), as module names; the task registry imports every
    built-in task (by name, when asked for one)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "nerflow":
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.split(".")[0] == "nerflow"}
    if path == PACKAGE / "tasks" / "__init__.py":
        names |= {target.split(":")[0] for target in BUILTIN.values()}
    return names


def module_files(name: str) -> list:
    """The files importing module `name` runs: the module and every package __init__ above it."""
    parts, files = name.split(".")[1:], []
    for i in range(len(parts) + 1):
        folder = PACKAGE.joinpath(*parts[:i])
        files += [f for f in (folder / "__init__.py", folder.with_suffix(".py") if i else None) if f and f.exists()]
    return files


def nerflow_imports(module: Path) -> set:
    """Files of the nerflow package that `module` runs, directly or through each other."""
    found, todo = set(), [module]
    while todo:
        for name in direct_imports(todo.pop()):
            for path in module_files(name):
                if path not in found:
                    found.add(path)
                    todo.append(path)
    return {str(p.relative_to(ROOT)) for p in found}


def test_every_module_a_stage_imports_is_a_dep():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        module = stage["cmd"].split("-m ")[1].split()[0]
        assert module == f"nerflow.stages.{name}", name
        path = PACKAGE / "stages" / f"{name}.py"
        missing = nerflow_imports(path) - set(stage["deps"]) - NOT_DEPS - {"src/nerflow/stages/__init__.py"}
        assert str(path.relative_to(ROOT)) in stage["deps"], name
        assert not missing, f"dvc.yaml stage {name} runs {sorted(missing)} but does not list them as deps"
        extra = {d for d in stage["deps"] if d.startswith("src/")} - nerflow_imports(path) - {str(path.relative_to(ROOT))}
        assert not extra, f"dvc.yaml stage {name} lists {sorted(extra)}, which it does not run"


def test_layers_import_downwards_only():
    checked = 0
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).with_suffix("").parts[0]
        if layer not in RANK:
            continue
        for name in direct_imports(path) - {"nerflow"}:
            target = name.split(".")[1]
            if target != layer:
                checked += 1
                assert RANK[target] > RANK[layer], f"{path.relative_to(ROOT)} ({layer}) imports {name}, not a layer below it"
    assert checked > 50  # the walk saw the package's imports
