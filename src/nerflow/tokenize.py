"""Stage tokenize: data/processed/ -> data/tokenized/{split}.jsonl (one model window a line) and settings.json (how
the windows were made, for the model folder), metrics/tokenize.json.

Train windows carry labels per the `label_all_tokens` param; dev and test windows always label first pieces
only, so that evaluation counts each word once whatever the training choice.

`context: document` reads the sentences of a document together (nerflow.align.plan_document) when the data has
documents; `sentence` reads each sentence alone.
"""

import json
from pathlib import Path

from nerflow import classification
from nerflow.align import CONTEXTS, encode, load_tokenizer
from nerflow.files import SPLITS, atomic_dir, read_jsonl, write_json_atomic, write_jsonl
from nerflow.params import load_params

PROCESSED_DIR = Path("data/processed")
BASE_MODEL_DIR = "data/base_model"
TOKENIZED_DIR = "data/tokenized"
TOKENIZE_METRICS = "metrics/tokenize.json"


def context_of(requested: str, splits: dict) -> str:
    """The context the windows are made with: `document` only if requested and the data has documents, that is
    some split holds sentences of more than one. preprocess numbers documents by -DOCSTART- lines (CoNLL) or a
    change of the "doc" field (JSONL); data with neither is all document 0, and is read sentence by sentence."""
    if requested not in CONTEXTS:
        raise SystemExit(f"tokenize: params.yaml: context is {requested!r}; expected document or sentence")
    has_documents = any(len({s["doc"] for s in sentences}) > 1 for sentences in splits.values())
    return "document" if requested == "document" and has_documents else "sentence"


def tokenize_classification(params: dict, tokenizer, task: str) -> None:
    """One window per example, cut to max_length pieces (nerflow.classification); the cut ones are counted."""
    labels = json.loads((PROCESSED_DIR / "labels.json").read_text())
    label2id = {label: i for i, label in enumerate(labels)}
    stats = {}
    with atomic_dir(TOKENIZED_DIR) as out:
        for split in SPLITS:
            examples = [classification.Example(**r) for r in read_jsonl(PROCESSED_DIR / f"{split}.jsonl")]
            windows = classification.encode(tokenizer, examples, params["max_length"], label2id)
            write_jsonl(out / f"{split}.jsonl", windows)
            stats[split] = {"examples": len(windows), "truncated": sum(w["truncated"] for w in windows),
                            "pieces": sum(len(w["input_ids"]) for w in windows),
                            "longest_window": max((len(w["input_ids"]) for w in windows), default=0)}
        write_json_atomic(out / "settings.json", {"task": task, "max_length": params["max_length"]})
    write_json_atomic(TOKENIZE_METRICS, stats)


def main():
    params = load_params()
    task = classification.task_of(params)
    try:
        tokenizer = load_tokenizer(BASE_MODEL_DIR)
    except ValueError as error:  # not a fast tokenizer
        raise SystemExit(f"tokenize: {error}") from None
    if task != "ner":
        return tokenize_classification(params, tokenizer, task)
    labels = json.loads((PROCESSED_DIR / "labels.json").read_text())
    label2id = {label: i for i, label in enumerate(labels)}
    splits = {split: read_jsonl(PROCESSED_DIR / f"{split}.jsonl") for split in SPLITS}
    context = context_of(params["context"], splits)
    stats = {}
    with atomic_dir(TOKENIZED_DIR) as out:
        for split, sentences in splits.items():
            windows = encode(
                tokenizer, [s["tokens"] for s in sentences], params["max_length"], params["window_overlap"],
                tags=[s["tags"] for s in sentences], label2id=label2id,
                label_all_tokens=params["label_all_tokens"] and split == "train",
                documents=[s["doc"] for s in sentences] if context == "document" else None,
            )
            write_jsonl(out / f"{split}.jsonl", windows)
            windows_per_sentence = [0] * len(sentences)
            for window in windows:  # only a windowed sentence is the first one owned by several windows
                windows_per_sentence[window["sentence"]] += 1
            stats[split] = {
                "sentences": len(sentences),
                "windows": len(windows),
                "windowed_sentences": sum(n > 1 for n in windows_per_sentence),
                "pieces": sum(len(w["input_ids"]) for w in windows),  # the tokens one pass over the split computes
                "longest_window": max(len(w["input_ids"]) for w in windows),
            }
        # How the windows were made, for the model folder's nerflow.json: `nerflow predict` reads text the same way.
        write_json_atomic(out / "settings.json", {"max_length": params["max_length"],
                                                  "window_overlap": params["window_overlap"], "context": context})
    write_json_atomic(TOKENIZE_METRICS, stats)


if __name__ == "__main__":
    main()
