"""Stage tokenize: data/processed/ -> data/tokenized/{split}.jsonl (one model window a line), metrics/tokenize.json.

Train windows carry labels per the `label_all_tokens` param; dev and test windows always label first pieces
only, so that evaluation counts each word once whatever the training choice.
"""

import json
from pathlib import Path

from nerflow.align import encode, load_tokenizer
from nerflow.files import SPLITS, atomic_dir, read_jsonl, write_json_atomic, write_jsonl
from nerflow.params import load_params

PROCESSED_DIR = Path("data/processed")
BASE_MODEL_DIR = "data/base_model"
TOKENIZED_DIR = "data/tokenized"
TOKENIZE_METRICS = "metrics/tokenize.json"


def main():
    params = load_params()
    try:
        tokenizer = load_tokenizer(BASE_MODEL_DIR)
    except ValueError as error:  # not a fast tokenizer
        raise SystemExit(f"tokenize: {error}") from None
    labels = json.loads((PROCESSED_DIR / "labels.json").read_text())
    label2id = {label: i for i, label in enumerate(labels)}
    stats = {}
    with atomic_dir(TOKENIZED_DIR) as out:
        for split in SPLITS:
            sentences = read_jsonl(PROCESSED_DIR / f"{split}.jsonl")
            windows = encode(
                tokenizer, [s["tokens"] for s in sentences], params["max_length"], params["window_overlap"],
                tags=[s["tags"] for s in sentences], label2id=label2id,
                label_all_tokens=params["label_all_tokens"] and split == "train",
            )
            write_jsonl(out / f"{split}.jsonl", windows)
            windows_per_sentence = [0] * len(sentences)
            for window in windows:
                windows_per_sentence[window["sentence"]] += 1
            stats[split] = {
                "sentences": len(sentences),
                "windows": len(windows),
                "windowed_sentences": sum(n > 1 for n in windows_per_sentence),
                "pieces": sum(len(w["input_ids"]) for w in windows),
                "longest_window": max(len(w["input_ids"]) for w in windows),
            }
    write_json_atomic(TOKENIZE_METRICS, stats)


if __name__ == "__main__":
    main()
