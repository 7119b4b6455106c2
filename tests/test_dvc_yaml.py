"""dvc.yaml as the map: every module a stage runs is one of its deps, so editing it reruns the stage."""

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "nerflow"
# Reading params.yaml does not shape a stage's outputs (the params a stage reads are listed as params).
NOT_DEPS = {"src/nerflow/params.py", "src/nerflow/__init__.py"}


def nerflow_imports(module: Path) -> set:
    """Modules of the nerflow package that `module` imports, directly or through each other."""
    found, todo = set(), [module]
    while todo:
        tree = ast.parse(todo.pop().read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "nerflow":
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if alias.name.split(".")[0] == "nerflow"]
            for name in names:
                parts = name.split(".")[1:]
                path = PACKAGE.joinpath(*parts).with_suffix(".py") if parts else PACKAGE / "__init__.py"
                if path.exists() and path not in found:
                    found.add(path)
                    todo.append(path)
    return {str(p.relative_to(ROOT)) for p in found}


def test_every_module_a_stage_imports_is_a_dep():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        module = stage["cmd"].split("-m ")[1].split()[0]
        path = PACKAGE / f"{module.split('.')[1]}.py"
        missing = nerflow_imports(path) - set(stage["deps"]) - NOT_DEPS
        assert str(path.relative_to(ROOT)) in stage["deps"], name
        assert not missing, f"dvc.yaml stage {name} runs {sorted(missing)} but does not list them as deps"
