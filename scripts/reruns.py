"""What each stage runs, read from the package's imports, and the table of docs/reruns.md: for every module of
src/nerflow, the stages an edit to it reruns, for the NER default (params.yaml) and the classification examples.

    python scripts/reruns.py      # after adding, moving or splitting a module; the tests check the table is current

A stage runs its module, what that imports (anywhere in a file: imports inside functions count), and the two
kinds of module imported by name: the part of params' `task` that each task_part(..., "<part>") call it runs asks
for (nerflow.tasks.task_part), and the module of params' `tuning` (nerflow.training.tuning.tuning_for). The package
imports by absolute name only, and names its parts as literals, so that this reading of the code sees them all. tests/test_dvc_yaml.py checks dvc.yaml's deps
against it; tests/test_reruns.py checks `dvc status` against the table.
"""

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "nerflow"
DOC = ROOT / "docs" / "reruns.md"
STAGES = ("params", "download", "preprocess", "tokenize", "train", "evaluate", "export")
# Reading and checking params.yaml shapes no stage's outputs but the params stage's (the params a stage reads are
# listed as params, from the file the params stage writes), and the package's own __init__ is its map, a docstring:
# no stage depends on them.
NOT_DEPS = {"src/nerflow/__init__.py", "src/nerflow/stages/__init__.py"}
PARAMS_MODULE = "src/nerflow/params.py"
# (column title, task, tuning): the runs the table shows.
COLUMNS = (("NER (params.yaml)", "ner", "full"), ("classification (examples/)", "classification", "full"),
           ("NER, `tuning: lora`", "ner", "lora"))
BEGIN, END = "<!-- table: scripts/reruns.py -->", "<!-- end of table -->"


def direct_imports(path: Path, task: str = None, tuning: str = None) -> set:
    """The nerflow modules `path` imports (anywhere in it), as module names. The imports made by name: a call
    task_part(..., "<part>") imports that part of `task`; the tuning registry imports the module of `tuning`."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise ValueError(f"{path}:{node.lineno}: a relative import; the package imports by absolute name")
            if node.module.split(".")[0] == "nerflow":
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.split(".")[0] == "nerflow"}
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "task_part" and task:
            part = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                raise ValueError(f"{path}:{node.lineno}: task_part's part is not a literal; name it")
            names.add(f"nerflow.tasks.{task}.{part.value}")
    if path == PACKAGE / "training" / "tuning" / "__init__.py" and tuning:
        names.add(f"nerflow.training.tuning.{tuning}")
    return names


def module_files(name: str) -> list:
    """The files importing module `name` runs: the module and every package __init__ above it."""
    parts, files = name.split(".")[1:], []
    for i in range(len(parts) + 1):
        folder = PACKAGE.joinpath(*parts[:i])
        files += [f for f in (folder / "__init__.py", folder.with_suffix(".py") if i else None) if f and f.exists()]
    return files


def runs(stage: str, task: str, tuning: str) -> set:
    """The files of the package (relative to the project root) that `stage` runs for `task` and `tuning`."""
    start = PACKAGE / "stages" / f"{stage}.py"
    found, todo = {start}, [start]
    while todo:
        for name in direct_imports(todo.pop(), task, tuning):
            for path in module_files(name):
                if path not in found:
                    found.add(path)
                    todo.append(path)
    return {p.relative_to(ROOT).as_posix() for p in found} - NOT_DEPS - ({PARAMS_MODULE} if stage != "params" else set())


def modules() -> list:
    return sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def reruns() -> dict:
    """{module: [stages an edit to it reruns, for each of COLUMNS]}."""
    ran = {(stage, task, tuning): runs(stage, task, tuning) for _, task, tuning in COLUMNS for stage in STAGES}
    return {module: [[stage for stage in STAGES if module in ran[stage, task, tuning]] for _, task, tuning in COLUMNS]
            for module in modules()}


def table() -> str:
    rows = [f"| `{module.removeprefix('src/nerflow/')}` | " + " | ".join(", ".join(s) or "nothing" for s in stages)
            + " |" for module, stages in reruns().items()]
    return "\n".join([BEGIN, "", "| module (src/nerflow/) | " + " | ".join(title for title, _, _ in COLUMNS) + " |",
                      "|---|" + "---|" * len(COLUMNS), *rows, "", END])


def read_table(text: str) -> dict:
    """The table of docs/reruns.md: {module path: [stages of each column]}."""
    body = text[text.index(BEGIN):text.index(END)]
    found = {}
    for line in body.splitlines()[4:]:
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            found["src/nerflow/" + cells[0].strip("`")] = [[] if c == "nothing" else c.split(", ") for c in cells[1:]]
    return found


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(text[:text.index(BEGIN)] + table() + text[text.index(END) + len(END):], encoding="utf-8")
    print(f"wrote the table of {DOC.relative_to(ROOT)}")
