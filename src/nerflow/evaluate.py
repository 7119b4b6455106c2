"""Stage evaluate: models/ner on dev and test -> metrics/eval.json, data/predictions/test.conll.

Predictions are read at the first piece of each word and gathered from the windows back into whole
sentences; every input word is evaluated exactly once (checked).
"""

from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from nerflow.conll import Sentence, write_conll
from nerflow.files import atomic_dir, read_jsonl, write_json_atomic
from nerflow.inference import predict_tags
from nerflow.metrics import entity_scores
from nerflow.params import load_params

PROCESSED_DIR = Path("data/processed")
TOKENIZED_DIR = Path("data/tokenized")
MODEL_DIR = "models/ner"
EVAL_METRICS = "metrics/eval.json"
PREDICTIONS_DIR = "data/predictions"


def main():
    params = load_params()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForTokenClassification.from_pretrained(MODEL_DIR).to(device)
    pad_id = AutoTokenizer.from_pretrained(MODEL_DIR).pad_token_id
    results, predictions = {}, {}
    for split in ("dev", "test"):
        sentences = [Sentence(**s) for s in read_jsonl(PROCESSED_DIR / f"{split}.jsonl")]
        predicted = predict_tags(model, read_jsonl(TOKENIZED_DIR / f"{split}.jsonl"), [len(s.tokens) for s in sentences],
                                 model.config.id2label, params["eval_batch_size"], pad_id, progress=f"predict {split}")
        predictions[split] = (sentences, predicted)
        gold = [s.tags for s in sentences]
        words_in, words_scored = sum(map(len, gold)), sum(map(len, predicted))
        if words_in != words_scored:
            raise SystemExit(f"evaluate: {split} has {words_in} words but {words_scored} were predicted")
        results[split] = entity_scores(gold, predicted)
        print(f"{split}: entity F1 {100 * results[split]['f1']:.2f} (strict IOB2 {100 * results[split]['strict']['f1']:.2f}), "
              f"{words_in} words")
    with atomic_dir(PREDICTIONS_DIR) as out:
        write_conll(out / "test.conll", *predictions["test"])
    write_json_atomic(EVAL_METRICS, results)


if __name__ == "__main__":
    main()
