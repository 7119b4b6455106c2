"""Installing without run.sh: `pip install -e .` brings every package the code imports. Each module that src/
imports from outside the standard library is provided by a distribution that pyproject.toml declares (a
dependency, or an extra for a module imported only where it is needed, such as zstandard for .zst files)."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules() -> set:
    """The top-level modules that src/ imports, anywhere in a module (functions included)."""
    found = set()
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"nerflow", "__future__"}


def declared() -> set:
    """The distributions pyproject.toml declares, dependencies and extras, by normalised name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {normalised(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_module_src_imports_comes_from_a_declared_distribution():
    providers = importlib.metadata.packages_distributions()
    # A module of an extra that is not installed here: its distribution is named as the module is.
    undeclared = {module: providers.get(module, [module]) for module in imported_modules()
                  if not {normalised(d) for d in providers.get(module, [module])} & declared()}
    assert not undeclared, f"imported by src/ but not declared in pyproject.toml (module: its distributions): {undeclared}"


def test_the_check_sees_imports_inside_functions_and_the_declared_ones():
    modules = imported_modules()
    assert {"torch", "pyarrow", "pydantic", "sklearn", "zstandard", "datasets"} <= modules
    assert {"torch", "pyarrow", "pydantic", "scikit-learn"} <= declared()
