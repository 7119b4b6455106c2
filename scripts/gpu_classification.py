"""The classification recipe on a GPU, without DVC: train on data/tokenized (as the tokenize stage writes it for
a text- or pair-classification task), pick the best epoch on dev accuracy, score test; JSON on stdout.

    python scripts/gpu_classification.py params.yaml        # after `dvc repro tokenize` with that params file

For machines with torch and transformers but not the pipeline's other dependencies (dvc, pandas, scikit-learn):
it runs the train stage's loop (finetune.fit) and prediction (inference.predict_classes) and nothing else.
"""

import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from nerflow.files import read_jsonl
from nerflow.finetune import fit, load_base_model, parameter_counts
from nerflow.inference import default_device, predict_classes
from nerflow.params import load_params

TOKENIZED, BASE_MODEL = Path("data/tokenized"), "data/base_model"


def main():
    params = load_params(sys.argv[1] if len(sys.argv) > 1 else "params.yaml")
    labels = json.loads((Path("data/processed") / "labels.json").read_text())
    pad_id = AutoTokenizer.from_pretrained(BASE_MODEL).pad_token_id
    splits = {split: read_jsonl(TOKENIZED / f"{split}.jsonl") for split in ("train", "dev", "test")}

    def accuracy(model, split):
        """(accuracy, mean cross-entropy) on `split`."""
        probabilities, loss = predict_classes(model, splits[split], params["eval_batch_size"], pad_id, loss=True)
        gold = torch.tensor([w["labels"] for w in splits[split]])
        return (probabilities.argmax(-1) == gold).float().mean().item(), loss

    def evaluate(model):
        return accuracy(model, "dev")

    # fp32 weights whatever the file holds (a GPU machine may be given an fp16 copy to carry less).
    model = load_base_model(params, labels, BASE_MODEL, AutoModelForSequenceClassification).float().to(default_device())
    trainable, total = parameter_counts(model)
    windows = [{"input_ids": w["input_ids"], "labels": w["labels"]} for w in splits["train"]]
    start = time.perf_counter()
    outcome = fit(model, windows, params, pad_id, evaluate, progress=False, metric="dev_accuracy")
    seconds = time.perf_counter() - start
    model.load_state_dict(outcome.best_state)
    started = time.perf_counter()
    test, _ = accuracy(model, "test")
    print(json.dumps({"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                      "torch": torch.__version__, "task": params["task"], "tuning": params.get("tuning", "full"),
                      "trainable": trainable, "total": total, "train_examples": len(windows),
                      "epochs": outcome.epoch, "steps": outcome.step, "train_seconds": seconds,
                      "dev_accuracy_by_epoch": outcome.score_by_epoch, "best_epoch": outcome.best_epoch,
                      "test_accuracy": test, "test_examples": len(splits["test"]),
                      "test_seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
