"""Recipes trained as the train stage trains them, on a machine without DVC (a lent GPU): for each run of a sweep
file, params.yaml with the run's changes and seeds, then dev and test scored by the evaluate stage's own code
(the task's evaluate_split), NER with both decodings. One JSON line per run and seed, appended as each finishes.

    python scripts/gpu_recipe.py scripts/sweep_ner.json --output results.jsonl [--deadline 480]

A sweep file is a list of runs: {"name", "set": {param: value} (top-level params), "seeds": [..], "tokenized": dir,
"processed": dir, "params": file}; each folder is as `dvc repro tokenize` writes data/tokenized and data/processed
for that run's params (a run changing tokenize or preprocess params needs its own, made beforehand where DVC is:
scripts/recipe_data.sh). Training is nerflow.training.loop.fine_tune, the stage's own: dev chooses the epoch,
min_steps and patience apply.
"""

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from nerflow.data.files import read_json
from nerflow.params import check_params, load_params
from nerflow.paths import BASE_MODEL_DIR, EVALUATED, LABELS_FILE
from nerflow.tasks import task_part
from nerflow.training.loop import fine_tune
from nerflow.training.runtime import default_device
from nerflow.training.tokenizer import load_tokenizer
from nerflow.training.tuning import tuning_for


def scored(evaluation, model, params: dict, pad_id: int, tokenized: Path, processed: Path) -> dict:
    """Dev and test scored as the evaluate stage scores them; for each decoding of params `decodings` (NER:
    [true, false], valid IOB2 sequences and the per-word argmax, from the same model), the numbers of the scores."""
    out = {}
    with tempfile.TemporaryDirectory() as predictions:
        for split in EVALUATED:
            for constrained in params.get("decodings") or [params["constrained_decoding"]]:
                scores = evaluation.evaluate_split(model, {**params, "constrained_decoding": constrained}, pad_id,
                                             processed, tokenized, split, Path(predictions)).scores
                numbers = {k: v for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                if "strict" in scores:
                    numbers["strict_f1"] = scores["strict"]["f1"]
                out[f"{split}_{'constrained' if constrained else 'argmax'}" if "decodings" in params else split] = {
                    **numbers, "constrained_decoding": constrained}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--output", type=Path, default=Path("recipe_results.jsonl"))
    parser.add_argument("--base-model", type=Path, default=BASE_MODEL_DIR)
    parser.add_argument("--deadline", type=float, default=None, help="seconds: start no run after this")
    parser.add_argument("--one-decoding", action="store_true",
                        help="NER: score with params' constrained_decoding only (default: both decodings)")
    args = parser.parse_args()
    started = time.perf_counter()
    pad_id = load_tokenizer(args.base_model).pad_token_id
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    for run in read_json(args.sweep):
        params = check_params({**load_params(run.get("params", "params.yaml")), **run.get("set", {})},
                              f"{args.sweep} run {run['name']}")  # the sweep's values checked as params.yaml's
        task = task_part(params, "train")
        if params["task"] == "ner" and not args.one_decoding:
            params["decodings"] = [True, False]
        tokenized, processed = Path(run.get("tokenized", "data/tokenized")), Path(run.get("processed", "data/processed"))
        labels = read_json(processed / LABELS_FILE)
        for seed in run.get("seeds", [params["seed"]]):
            if args.deadline is not None and time.perf_counter() - started > args.deadline:
                print(f"{run['name']} seed {seed}: skipped (deadline)", file=sys.stderr)
                continue
            params["seed"] = seed
            begin = time.perf_counter()
            try:
                model, state = fine_tune(task, params, labels, pad_id, tokenized, processed, args.base_model,
                                         progress=False)
            except Exception as error:  # one failed run (out of memory, a capture error) costs only itself
                print(f"{run['name']} seed {seed}: failed: {error!r}", file=sys.stderr)
                append(args.output, {"name": run["name"], "seed": seed, "error": repr(error)})
                continue
            seconds = time.perf_counter() - begin
            metric = f"dev_{task.dev_metric}"
            append(args.output, {
                "name": run["name"], "seed": seed, "set": run.get("set", {}), "device": device,
                "torch": torch.__version__, "parameters": tuning_for(params).parameter_counts(model), "epochs": state.epoch,
                "steps": state.step, "best_epoch": state.best_epoch, "train_seconds": seconds,
                f"{metric}_by_epoch": state.score_by_epoch,
                **scored(task_part(params, "evaluate"), model, params, pad_id, tokenized, processed)})
            print(f"{run['name']} seed {seed}: {metric} {100 * state.best_score:.2f} (epoch {state.best_epoch}), "
                  f"{seconds:.1f} s", file=sys.stderr)
            del model, state
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    print(f"all runs: {time.perf_counter() - started:.0f} s on {device} ({default_device()})", file=sys.stderr)


def append(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
