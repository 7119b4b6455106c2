"""Recipes trained as the train stage trains them, on a machine without DVC (a lent GPU): for each run of a sweep
file, params.yaml with the run's changes and seeds, then dev and test scored as the evaluate stage scores them.
One JSON line per run and seed, appended as each finishes.

    python scripts/gpu_recipe.py scripts/sweep_ner.json --output results.jsonl [--deadline 480]

A sweep file is a list of runs: {"name", "set": {param: value} (top-level params), "seeds": [..], "tokenized": dir,
"processed": dir, "params": file}; each folder is as `dvc repro tokenize` writes data/tokenized and data/processed
for that run's params (a run changing tokenize or preprocess params needs its own, made beforehand, where DVC is).
Training is nerflow.train.train_model, the stage's own: dev chooses the epoch, min_steps and patience apply.
NER runs are scored with both decodings (valid IOB2 sequences and the per-word argmax) from the same model.
"""

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

from nerflow import classification
from nerflow.decoding import count_stray_inside, decode
from nerflow.files import read_jsonl
from nerflow.finetune import parameter_counts
from nerflow.inference import default_device, predict_classes, predict_word_scores
from nerflow.metrics import entity_scores
from nerflow.params import load_params
from nerflow.train import train_model


def scored(model, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path) -> dict:
    """Dev and test: entity F1 (conlleval and strict) under both decodings, or accuracy and macro-F1."""
    out = {}
    for split in ("dev", "test"):
        windows = read_jsonl(tokenized / f"{split}.jsonl")
        if classification.task_of(params) != "ner":
            predicted = predict_classes(model, windows, params["eval_batch_size"], pad_id).argmax(-1).tolist()
            s = classification.scores([w["labels"] for w in windows], predicted, list(range(len(labels))))
            out[split] = {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"]}
            continue
        sentences = read_jsonl(processed / f"{split}.jsonl")
        scores = predict_word_scores(model, windows, [len(s["tokens"]) for s in sentences],
                                     params["eval_batch_size"], pad_id)
        gold = [s["tags"] for s in sentences]
        for constrained in (True, False):
            tags = decode(scores, labels, constrained)
            s = entity_scores(gold, tags)
            out[f"{split}_{'constrained' if constrained else 'argmax'}"] = {
                "f1": s["f1"], "strict_f1": s["strict"]["f1"], "stray_inside": count_stray_inside(tags)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--output", type=Path, default=Path("recipe_results.jsonl"))
    parser.add_argument("--base-model", default="data/base_model")
    parser.add_argument("--deadline", type=float, default=None, help="seconds: start no run after this")
    args = parser.parse_args()
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    for run in json.loads(args.sweep.read_text()):
        params = {**load_params(run.get("params", "params.yaml")), **run.get("set", {})}
        tokenized, processed = Path(run.get("tokenized", "data/tokenized")), Path(run.get("processed", "data/processed"))
        labels = json.loads((processed / "labels.json").read_text())
        for seed in run.get("seeds", [params["seed"]]):
            if args.deadline is not None and time.perf_counter() - started > args.deadline:
                print(f"{run['name']} seed {seed}: skipped (deadline)", file=sys.stderr)
                continue
            params["seed"] = seed
            begin = time.perf_counter()
            try:
                model, outcome, metric = train_model(params, labels, tokenizer.pad_token_id, tokenized, processed,
                                                     args.base_model, progress=False)
            except Exception as error:  # one failed run (out of memory, a capture error) costs only itself
                print(f"{run['name']} seed {seed}: failed: {error!r}", file=sys.stderr)
                with open(args.output, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"name": run["name"], "seed": seed, "error": repr(error)}) + "\n")
                continue
            seconds = time.perf_counter() - begin
            result = {"name": run["name"], "seed": seed, "set": run.get("set", {}), "device": device,
                      "torch": torch.__version__, "parameters": parameter_counts(model), "epochs": outcome.epoch,
                      "steps": outcome.step, "best_epoch": outcome.best_epoch, "train_seconds": seconds,
                      f"{metric}_by_epoch": outcome.score_by_epoch,
                      **scored(model, params, labels, tokenizer.pad_token_id, tokenized, processed)}
            with open(args.output, "a", encoding="utf-8") as f:
                f.write(json.dumps(result) + "\n")
            print(f"{run['name']} seed {seed}: {metric} {100 * outcome.best_score:.2f} (epoch {outcome.best_epoch}), "
                  f"{seconds:.1f} s", file=sys.stderr)
            del model, outcome
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    print(f"all runs: {time.perf_counter() - started:.0f} s on {device} ({default_device()})", file=sys.stderr)


if __name__ == "__main__":
    main()
