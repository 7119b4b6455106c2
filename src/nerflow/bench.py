"""Benchmark: the project's training and inference paths against a seed-style baseline, on the same windows.

    python -m nerflow.bench                       # CPU: the pipeline's base model and tokenized data
    python -m nerflow.bench --config bert-base    # a bert-base architecture built from a config (no weights)

Seed-style baseline, written out here so the comparison is explicit: every window padded to 128, fp32,
batch 16, AdamW without schedule, `loss.item()` every step, random order. The project's path is the real
one: transformers' Trainer with the arguments the train stage uses (train.training_arguments), and
inference.predict_windows. Each measurement runs in its own process so that peak memory is its own.
Writes metrics/bench.json and prints a table.
"""

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from nerflow.files import read_jsonl, write_json_atomic
from nerflow.params import load_params

TOKENIZED_DIR = Path("data/tokenized")
BASE_MODEL_DIR = "data/base_model"
BENCH_METRICS = "metrics/bench.json"
BASELINE_LENGTH, BASELINE_BATCH = 128, 16


def load_model(config: str, num_labels: int):
    from transformers import AutoConfig, AutoModelForTokenClassification, BertConfig

    if config == "bert-base":  # speed does not depend on the weights: no download needed
        return AutoModelForTokenClassification.from_config(BertConfig(num_labels=num_labels))
    return AutoModelForTokenClassification.from_pretrained(BASE_MODEL_DIR, num_labels=num_labels)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def synchronize():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def padded_batches(windows, batch_size, width, with_labels):
    """Seed style: every window padded (or cut) to `width`."""
    for first in range(0, len(windows), batch_size):
        batch = windows[first:first + batch_size]
        input_ids = torch.zeros((len(batch), width), dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        for row, w in enumerate(batch):
            n = min(len(w["input_ids"]), width)
            input_ids[row, :n] = torch.tensor(w["input_ids"][:n])
            attention_mask[row, :n] = 1
            if with_labels:
                labels[row, :n] = torch.tensor(w["labels"][:n])
        yield input_ids, attention_mask, labels


def train_baseline(model, windows, params):
    model.to(device()).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(params["lr"]))
    random.Random(params["seed"]).shuffle(windows)
    losses = []
    for input_ids, attention_mask, labels in padded_batches(windows, BASELINE_BATCH, BASELINE_LENGTH, True):
        loss = model(input_ids=input_ids.to(device()), attention_mask=attention_mask.to(device()),
                     labels=labels.to(device())).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())  # a host sync every step, as the seed code does
    return len(windows) // BASELINE_BATCH * BASELINE_BATCH * BASELINE_LENGTH


def train_project(model, windows, params):
    from transformers import AutoTokenizer, DataCollatorForTokenClassification, Trainer

    from nerflow.train import training_arguments

    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    with tempfile.TemporaryDirectory() as scratch:
        args = training_arguments({**params, "epochs": 1}, scratch)
        args.disable_tqdm = True
        trainer = Trainer(model=model, args=args, train_dataset=[{"input_ids": w["input_ids"], "labels": w["labels"]}
                                                                 for w in windows],
                          data_collator=DataCollatorForTokenClassification(tokenizer), processing_class=tokenizer)
        lengths = []
        collate = trainer.data_collator

        def counting(features):
            batch = collate(features)
            lengths.append(batch["input_ids"].numel())
            return batch

        trainer.data_collator = counting
        trainer.train()
    return sum(lengths)


def predict_baseline(model, windows, params):
    model.to(device()).eval()
    with torch.no_grad():
        for input_ids, attention_mask, _ in padded_batches(windows, BASELINE_BATCH, BASELINE_LENGTH, False):
            model(input_ids=input_ids.to(device()), attention_mask=attention_mask.to(device())).logits.argmax(-1).tolist()
    return -(-len(windows) // BASELINE_BATCH) * BASELINE_BATCH * BASELINE_LENGTH


def predict_project(model, windows, params):
    from nerflow.inference import predict_windows

    model.to(device())
    computed = []
    order = sorted(len(w["input_ids"]) for w in windows)
    for first in range(0, len(order), params["eval_batch_size"]):
        batch = order[first:first + params["eval_batch_size"]]
        computed.append(batch[-1] * len(batch))
    predict_windows(model, windows, params["eval_batch_size"], 0)
    return sum(computed)


PATHS = {"train-baseline": train_baseline, "train-project": train_project,
         "predict-baseline": predict_baseline, "predict-project": predict_project}


def measure(path: str, config: str, sentences: int) -> dict:
    """One measurement, in this process: wall time, real and computed tokens, peak memory."""
    params = load_params()
    labels = json.loads(Path("data/processed/labels.json").read_text())
    split = "train" if path.startswith("train") else "dev"
    windows = read_jsonl(TOKENIZED_DIR / f"{split}.jsonl")
    if split == "train":
        windows = windows[:sentences]
    torch.manual_seed(params["seed"])
    model = load_model(config, len(labels))
    synchronize()
    start = time.perf_counter()
    computed = PATHS[path](model, windows, params)
    synchronize()
    seconds = time.perf_counter() - start
    real = sum(len(w["input_ids"]) for w in windows)
    if torch.cuda.is_available():
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "windows": len(windows), "real_tokens": real, "computed_tokens": computed,
            "real_share": real / computed, "real_tokens_per_s": real / seconds, "windows_per_s": len(windows) / seconds,
            "peak_memory_mb": peak / 2**20}


def machine() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=None, help="bert-base: build that architecture from a config")
    parser.add_argument("--sentences", type=int, default=1024, help="train windows per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path; medians are reported")
    parser.add_argument("--one", choices=sorted(PATHS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.config, args.sentences)))
        return
    runs = {path: [] for path in PATHS}
    for repeat in range(args.repeats):
        for path in PATHS:  # interleaved, so that drift in machine load hits every path alike
            command = [sys.executable, "-m", "nerflow.bench", "--one", path, "--sentences", str(args.sentences)]
            if args.config:
                command += ["--config", args.config]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"bench: {path} failed:\n{result.stderr}")
            runs[path].append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(f"run {repeat + 1}/{args.repeats} {path}: {runs[path][-1]['seconds']:.1f} s", file=sys.stderr)
    median = {path: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for path, rs in runs.items()}
    report = {
        "machine": machine(), "date": time.strftime("%Y-%m-%d"), "model": args.config or load_params()["model"],
        "repeats": args.repeats, "train_windows": args.sentences, "median": median,
        "ratio": {
            "train_real_tokens_per_s": median["train-project"]["real_tokens_per_s"] / median["train-baseline"]["real_tokens_per_s"],
            "predict_real_tokens_per_s": median["predict-project"]["real_tokens_per_s"] / median["predict-baseline"]["real_tokens_per_s"],
        },
        "runs": runs,
    }
    write_json_atomic(BENCH_METRICS, report)
    print(f"{'path':18} {'wall s':>8} {'real tok/s':>11} {'real share':>10} {'windows/s':>10} {'peak MB':>8}")
    for path, m in median.items():
        print(f"{path:18} {m['seconds']:8.2f} {m['real_tokens_per_s']:11.0f} {m['real_share']:10.2f} "
              f"{m['windows_per_s']:10.1f} {m['peak_memory_mb']:8.0f}")
    print(f"train speed-up {report['ratio']['train_real_tokens_per_s']:.2f}x, "
          f"predict speed-up {report['ratio']['predict_real_tokens_per_s']:.2f}x  ({report['machine']})")


if __name__ == "__main__":
    main()
