"""Write docs/params.md, the params reference, from params.yaml's schema (src/nerflow/params.py): every key, what
it accepts, its default, the stages it shapes and what it means.

    python scripts/params_reference.py      # after changing the schema; tests/test_params.py checks it is current
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nerflow.params import Block, expected_of, fields, shown, stages_of  # noqa: E402

OUTPUT = ROOT / "docs" / "params.md"
HEAD = """# Params reference

Every key of `params.yaml`, written from its schema (`src/nerflow/params.py`, by `scripts/params_reference.py`):
what it accepts, its default, the stages whose outputs it shapes (changing it reruns them and what follows them:
[what reruns when](reruns.md)) and what it means. Every stage checks the whole file against this schema before any
work, and a bad value stops it naming the key:

```
params.yaml: lr is 'abc'; expected a number > 0
params.yaml: window_overlap is 500; expected at most half of max_length (128), so that a window owns more pieces than it shares
```

The keys are flat at the top, so that `dvc exp run -S lr=3e-5` works; nested ones are set with their path,
`-S dataset.split.dev=0.2`. A key left out of the file takes its default: a `params.yaml` needs only `task`,
`tuning` and `model` (the code `dvc.yaml`'s stages depend on follows the first two, the model artifact is labelled
with all three, and DVC reads them before any stage runs) and the keys you change. The params stage writes each stage's values, yours and the defaults, to `data/params/<stage>.yaml`,
which DVC compares: a stage reruns when a value it reads changes, whether you changed it or a default of the schema
did. `-S lr=3e-5` changes a key the file holds; `-S ++lr=3e-5` sets it whether or not the file holds it.

| key | accepts | default | shapes | meaning |
|---|---|---|---|---|
"""


def is_block(field) -> bool:
    return isinstance(field.annotation, type) and issubclass(field.annotation, Block)


def accepts(field) -> str:
    return "a mapping: the keys below" if is_block(field) else expected_of(field)


def default_of(field) -> str:
    if field.is_required():
        return "required"
    if isinstance(field.default, Block):
        return "(below)"
    if isinstance(field.default, dict) and field.default and isinstance(next(iter(field.default.values())), Block):
        return ", ".join(f"`{name}` (below)" for name in field.default)
    return f"`{field.default}`" if isinstance(field.default, str) and field.default else f"`{shown(field.default)}`"


def reference() -> str:
    rows, shaped = [], {}
    for key, field in fields():
        parent = key.rsplit(".", 1)[0].removesuffix(".<name>")
        shaped[key] = stages_of(field) or shaped.get(parent, [])  # a nested key shapes what its block shapes
        shapes = ", ".join(shaped[key]) or ("by key" if is_block(field) else "nothing")
        rows.append(f"| `{key}` | {accepts(field)} | {default_of(field)} | {shapes} | "
                    f"{field.description} |")
    return HEAD + "\n".join(rows) + "\n"


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(reference(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
