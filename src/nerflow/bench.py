"""Benchmark: the project's training and inference paths against a seed-style baseline, on the same windows.

    python -m nerflow.bench                       # speed: CPU, the pipeline's base model and tokenized data
    python -m nerflow.bench --config bert-base    # speed: a bert-base built from a config (no weights needed)
    python -m nerflow.bench --accuracy            # dev entity F1 of both paths after training on a subset
    python -m nerflow.bench --profile train-project --windows 256   # where one path's time goes

Needs `dvc repro tokenize` first (it reads data/tokenized and data/base_model). The seed-style baseline is
written out here so the comparison is explicit: windows padded to 128, fp32, batch 16, AdamW without
schedule, `loss.item()` every step, random order. Between the two, each speed step is measured on its own.
The project's path is the real one: the train stage's loop (finetune.fit, captured fixed-shape steps on a
GPU) for training, inference.predict_windows for prediction. `train-trainer` is the train stage as it was
before that loop: transformers' Trainer with token-budget batches. Each measurement runs in
a fresh process, so that peak memory is its own, and the paths are interleaved across repeats, so that drift
in machine load hits them alike. Writes metrics/bench.json (or metrics/bench_accuracy.json), prints a table.
"""

import argparse
import contextlib
import functools
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

from nerflow.batching import TokenBudgetBatchSampler, collate
from nerflow.files import read_jsonl, write_json_atomic
from nerflow.params import load_params

PROCESSED_DIR = Path("data/processed")
TOKENIZED_DIR = Path("data/tokenized")
BASE_MODEL_DIR = "data/base_model"
BENCH_METRICS = "metrics/bench.json"
ACCURACY_METRICS = "metrics/bench_accuracy.json"
SEED_LENGTH, SEED_BATCH = 128, 16
# Architectures built from a config: bert-base for the GPU figures, bert-tiny to try the GPU script on a CPU.
CONFIGS = {"bert-base": {}, "bert-tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                              intermediate_size=128)}


def device() -> torch.device:
    from nerflow.inference import default_device

    return torch.device(default_device())


def load_model(config, labels: list, params: dict):
    from transformers import AutoModelForTokenClassification, BertConfig

    from nerflow.finetune import load_base_model

    if config in CONFIGS:  # speed does not depend on the weights
        torch.manual_seed(params["seed"])
        dropout = params.get("attention_dropout")
        return AutoModelForTokenClassification.from_config(BertConfig(
            num_labels=len(labels), attention_probs_dropout_prob=0.1 if dropout is None else dropout,
            **CONFIGS[config]), attn_implementation="sdpa")
    return load_base_model(params, labels, BASE_MODEL_DIR)


def hand_loop(model, windows, params, width=None, grouped=False):
    """The seed's training loop; with width=None it pads per batch, with grouped it orders by length."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    model.to(device()).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(params["lr"]))
    lengths = [len(w["input_ids"]) for w in windows]
    computed = 0
    for epoch in range(params["epochs"]):
        if grouped:
            generator = torch.Generator().manual_seed(params["seed"] + epoch)
            order = get_length_grouped_indices(lengths, SEED_BATCH, generator=generator)
        else:
            order = list(range(len(windows)))
            random.Random(params["seed"] + epoch).shuffle(order)
        for first in range(0, len(order), SEED_BATCH):
            batch = {k: v.to(device()) for k, v in collate([windows[i] for i in order[first:first + SEED_BATCH]],
                                                           pad_id=0, width=width).items()}
            computed += batch["input_ids"].numel()
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss.item()  # a host sync every step, as the seed code does
    return computed


@functools.cache
def pieces_per_sentence() -> float:
    """The train stage's batch unit over all of train, whatever subset a path trains on."""
    from nerflow import train

    return train.pieces_per_sentence(read_jsonl(TOKENIZED_DIR / "train.jsonl"), PROCESSED_DIR)


def project_path(model, windows, params, **engine):
    """The train stage's loop (finetune.fit) without its dev evaluation; engine fields override the device's."""
    from dataclasses import replace

    from nerflow.finetune import engine_for, fit

    chosen = replace(engine_for(device(), 1), **engine)
    fixed = {**params, "min_steps": 0, "patience": None}  # exactly params["epochs"]: nothing to stop early on
    outcome = fit(model, windows, fixed, pad_id=0, evaluate=None, engine=chosen, progress=False,
                  tokens_per_example=pieces_per_sentence())
    return outcome.computed_tokens


def trainer_path(model, windows, params, length_grouped_trainer=False, **overrides):
    """The train stage before finetune.fit: transformers' Trainer with token-budget batches (bf16, TF32 and
    fused AdamW on CUDA)."""
    from torch.utils.data import DataLoader
    from transformers import AutoTokenizer, DataCollatorForTokenClassification, Trainer, TrainingArguments

    from nerflow.inference import use_fast_attention_kernels

    class NerTrainer(Trainer):
        def get_train_dataloader(self):
            use_fast_attention_kernels()  # as the train stage did
            sampler = TokenBudgetBatchSampler([len(w["input_ids"]) for w in self.train_dataset],
                                              self.args.per_device_train_batch_size, self.args.seed)
            return self.accelerator.prepare(DataLoader(self.train_dataset, batch_sampler=sampler,
                                                       collate_fn=self.data_collator, pin_memory=cuda))

    cuda = torch.cuda.is_available()
    trainer_class = NerTrainer
    if length_grouped_trainer:
        trainer_class, overrides["train_sampling_strategy"] = Trainer, "group_by_length"
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    collate_fn = DataCollatorForTokenClassification(tokenizer)
    computed = []

    def counting_collate(features):
        batch = collate_fn(features)
        computed.append(batch["input_ids"].numel())
        return batch

    with tempfile.TemporaryDirectory() as scratch:
        options = dict(output_dir=scratch, learning_rate=float(params["lr"]), num_train_epochs=params["epochs"],
                       per_device_train_batch_size=params["batch_size"], weight_decay=float(params["weight_decay"]),
                       warmup_steps=float(params["warmup_ratio"]), lr_scheduler_type="linear",
                       max_grad_norm=float(params["max_grad_norm"]), optim="adamw_torch_fused" if cuda else "adamw_torch",
                       seed=params["seed"], full_determinism=not cuda, bf16=cuda, tf32=True if cuda else None,
                       eval_strategy="no", save_strategy="no", logging_steps=10, logging_nan_inf_filter=False,
                       report_to="none", dataloader_pin_memory=cuda, disable_tqdm=True)
        args = TrainingArguments(**{**options, **overrides})
        train = [{"input_ids": w["input_ids"], "labels": w["labels"]} for w in windows]
        trainer_class(model=model, args=args, train_dataset=train, data_collator=counting_collate,
                      processing_class=tokenizer).train()
    return sum(computed)


def predict_seed(model, windows, params):
    model.to(device()).eval()
    computed = 0
    with torch.no_grad():
        for first in range(0, len(windows), SEED_BATCH):
            batch = collate([{"input_ids": w["input_ids"]} for w in windows[first:first + SEED_BATCH]], 0, width=SEED_LENGTH)
            computed += batch["input_ids"].numel()
            model(**{k: v.to(device()) for k, v in batch.items()}).logits.argmax(-1).tolist()
    return computed


def predict_project(model, windows, params):
    from nerflow.inference import prediction_batches, predict_windows

    model.to(device())
    predict_windows(model, windows, params["eval_batch_size"], pad_id=0)
    packed = device().type == "cuda"
    batches = prediction_batches(windows, params["eval_batch_size"], packed, max(1, params["eval_batch_size"] // 4))
    if packed:  # every batch has one shape
        from nerflow.inference import PACKED_WIDTH
        return len(batches) * max(1, params["eval_batch_size"] // 4) * PACKED_WIDTH
    return sum(max(len(windows[i]["input_ids"]) for i in b) * len(b) for b in batches)


# name -> (split, function, description); the first of each kind is the baseline of the ratios.
PATHS = {
    "train-seed": ("train", lambda m, w, p: hand_loop(m, w, p, width=SEED_LENGTH),
                   "seed style: pad to 128, batch 16, fp32, no schedule, .item() each step"),
    "train-dynamic-padding": ("train", lambda m, w, p: hand_loop(m, w, p),
                              "+ pad each batch to its longest window"),
    "train-length-grouped": ("train", lambda m, w, p: hand_loop(m, w, p, grouped=True),
                             "+ length-grouped batches (transformers' sampler)"),
    "train-trainer": ("train", trainer_path, "the train stage before: Trainer, token-budget batches, warmup+decay"),
    "train-project": ("train", project_path, "the train stage: finetune.fit (GPU: one packed shape, captured step)"),
    "predict-seed": ("predict", predict_seed, "seed style: pad to 128, batch 16, no_grad"),
    "predict-project": ("predict", predict_project, "the evaluate stage: predict_windows (GPU: packed, one shape)"),
}


# Variants tried on top of the project's path, measured only when asked for (--with NAME).
EXTRA_PATHS = {
    "train-project-eager": ("train", lambda m, w, p: project_path(m, w, p, packed=False, capture=False),
                            "the train stage's loop, eager padded steps (the CPU's way)"),
    "train-project-packed": ("train", lambda m, w, p: project_path(m, w, p, packed=True, capture=False),
                             "the train stage's loop, packed fixed-shape steps, not captured"),
    "train-project-compile": ("train", lambda m, w, p: project_path(m, w, p, packed=True, capture=False, compile=True),
                              "packed fixed-shape steps, blocks under torch.compile (compile time included)"),
    "train-project-compiled": ("train", lambda m, w, p: project_path(m, w, p, compile=True),
                               "captured steps of blocks under torch.compile (compile time included)"),
    "train-project-compiled-fp32": ("train", lambda m, w, p: project_path(m, w, p, compile=True, bf16=False),
                                    "captured steps of compiled blocks, fp32 (TF32 matrix products)"),
    "train-project-fp32": ("train", lambda m, w, p: project_path(m, w, p, bf16=False),
                           "captured steps, fp32 (TF32 matrix products): no autocast casts"),
    "train-project-bf16": ("train", lambda m, w, p: project_path(m, w, p, bf16=True),
                           "the train stage's loop with bf16 autocast (on CPU too)"),
    **{f"train-project-rows-{n}": ("train", lambda m, w, p, n=n: project_path(m, w, p, row_width=n),
                                   f"captured, packed into rows of {n} (less attention over masked pairs)")
       for n in (128, 256, 384)},
    "train-project-no-attention-dropout": ("train", project_path, "+ attention dropout 0 (param attention_dropout)"),
    "train-project-batch-128": ("train", lambda m, w, p: project_path(m, w, {**p, "batch_size": 128}),
                                "+ batch_size 128 (param batch_size; fewer, larger steps)"),
    "train-trainer-length-grouped": ("train", lambda m, w, p: trainer_path(m, w, p, length_grouped_trainer=True),
                                     "the Trainer with transformers' length-grouped sampler"),
}


def measure(path: str, config, windows_count: int, epochs: int, predict_split: str, batch_size: int,
            around=contextlib.nullcontext()) -> dict:
    """One measurement in this process: wall time, real and computed tokens, peak memory. `around` wraps the
    timed part (the profiler, for --profile)."""
    params = {**load_params(), "epochs": epochs}
    if batch_size:
        params["batch_size"] = batch_size
    labels = json.loads((PROCESSED_DIR / "labels.json").read_text())
    split, function, _ = {**PATHS, **EXTRA_PATHS}[path]
    split = predict_split if split == "predict" else split
    windows = read_jsonl(TOKENIZED_DIR / f"{split}.jsonl")
    if split == "train" and windows_count:
        windows = windows[:windows_count]
    if path == "train-project-no-attention-dropout":
        params["attention_dropout"] = 0.0
    model = load_model(config, labels, params).to(device())  # the copy to the device is not timed
    pieces_per_sentence()  # read here, not timed
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with around:
        computed = function(model, windows, params)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    per_pass = sum(len(w["input_ids"]) for w in windows)
    real = per_pass * (epochs if split == "train" else 1)
    mean_context = sum(len(w["input_ids"]) ** 2 for w in windows) / per_pass  # attention cost grows with length
    flops = real * flops_per_token(model, mean_context, split == "train")
    passes = epochs if split == "train" else 1
    return {"seconds": seconds, "windows": len(windows) * passes, "real_tokens": real, "computed_tokens": computed,
            "real_share": real / computed, "real_tokens_per_s": real / seconds,
            "windows_per_s": len(windows) * passes / seconds, "peak_memory_mb": peak_memory_mb(),
            "model_tflops_per_s": flops / seconds / 1e12}


def peak_memory_mb() -> float:
    """This process's peak so far: allocated GPU memory on CUDA, resident memory (RSS) on the CPU."""
    peak = (torch.cuda.max_memory_allocated() if torch.cuda.is_available()
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return peak / 2**20


KERNEL_LAUNCHES = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx")
GRAPH_LAUNCHES = ("cudaGraphLaunch", "cuGraphLaunch")  # one replays a whole captured step


def profile(args) -> None:
    """One path under torch.profiler: the operators that take the time, and on CUDA the kernel launches and
    the host time between them, to tell arithmetic from per-step overhead (BENCHMARKS.md, GPU)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    cuda = torch.cuda.is_available()
    recorder = profiler(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else []))
    result = measure(args.profile, args.config, args.windows, args.epochs or 1, args.predict_split,
                     args.batch_size, recorder)
    events = recorder.key_averages()
    table = events.table(sort_by="self_device_time_total" if cuda else "self_cpu_time_total", row_limit=25)
    busy = sum(e.self_device_time_total for e in events) / 1e6 if cuda else None  # seconds of kernels
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "path": args.profile, **result,
              "kernel_launches": sum(e.count for e in events if e.key in KERNEL_LAUNCHES),
              "graph_launches": sum(e.count for e in events if e.key in GRAPH_LAUNCHES),
              "device_busy_seconds": busy, "device_busy_share": busy / result["seconds"] if cuda else None}
    print(table)
    print(json.dumps(report, indent=1))
    if args.output:
        write_json_atomic(args.output, {**report, "top_operators": table})


def flops_per_token(model, mean_context: float, training: bool) -> float:
    """Model FLOPs per real token: 2N forward (6N with backward) over non-embedding parameters N, plus
    attention scores and values, 4 x layers x hidden x context forward (12x with backward)."""
    config = model.config
    embeddings = sum(p.numel() for name, p in model.named_parameters() if "embeddings" in name)
    non_embedding = sum(p.numel() for p in model.parameters()) - embeddings
    attention = config.num_hidden_layers * config.hidden_size * mean_context
    return (6 * non_embedding + 12 * attention) if training else (2 * non_embedding + 4 * attention)


def machine() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def run_isolated(*args) -> dict:
    result = subprocess.run([sys.executable, "-m", "nerflow.bench", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(args)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def speed(args) -> None:
    extra = ["--windows", str(args.windows), "--epochs", str(args.epochs or 1), "--predict-split", args.predict_split,
             "--batch-size", str(args.batch_size or 0), "--tokenized", str(TOKENIZED_DIR)] + (["--config", args.config] if args.config else [])
    paths = {**PATHS, **{name: EXTRA_PATHS[name] for name in args.with_paths}}
    runs = {path: [] for path in paths}
    for repeat in range(args.repeats):
        for path in paths:
            runs[path].append(run_isolated("--one", path, *extra))
            print(f"repeat {repeat + 1}/{args.repeats} {path}: {runs[path][-1]['seconds']:.1f} s", file=sys.stderr)
    median = {path: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for path, rs in runs.items()}
    for kind in ("train", "predict"):
        names = [p for p in paths if p.startswith(kind)]
        for name in names:  # ratio of medians against the seed-style path of the same kind
            median[name]["speedup"] = median[name]["real_tokens_per_s"] / median[names[0]]["real_tokens_per_s"]
    if args.peak_tflops:
        for m in median.values():
            m["mfu"] = m["model_tflops_per_s"] / args.peak_tflops
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "model": args.config or load_params()["model"],
              "tokenized": str(TOKENIZED_DIR), "repeats": args.repeats, "train_windows": args.windows or "all", "epochs": args.epochs or 1,
              "batch_size": args.batch_size or load_params()["batch_size"], "predict_split": args.predict_split,
              "peak_tflops": args.peak_tflops,
              "paths": {p: description for p, (_, _, description) in paths.items()},
              "median": median, "runs": runs}
    write_json_atomic(args.output or BENCH_METRICS, report)
    print(f"{report['machine']}; model {report['model']}; medians of {args.repeats}")
    print(f"{'path':32} {'wall s':>8} {'real tok/s':>11} {'real share':>10} {'windows/s':>10} {'peak MB':>8} "
          f"{'TFLOP/s':>8} {'speed-up':>8}" + ("     MFU" if args.peak_tflops else ""))
    for path, m in median.items():
        print(f"{path:32} {m['seconds']:8.2f} {m['real_tokens_per_s']:11.0f} {m['real_share']:10.2f} "
              f"{m['windows_per_s']:10.1f} {m['peak_memory_mb']:8.0f} {m['model_tflops_per_s']:8.3f} {m['speedup']:7.2f}x"
              + (f" {100 * m['mfu']:6.1f}%" if args.peak_tflops else ""))


# name -> the engine fields project_path overrides (None: the seed's loop)
ACCURACY_PATHS = {"train-seed": None, "train-project": {}, "train-project-bf16": {"bf16": True},
                  "train-project-compiled": {"compile": True}, "train-project-fp32": {"bf16": False},
                  "train-project-lora": {}}
# name -> the params a path overrides
ACCURACY_PARAMS = {"train-project-lora": {"tuning": "lora"}}


def accuracy_one(path: str, windows_count: int, epochs: int, seed: int) -> dict:
    """Train `path` on the first windows of train for `epochs`, then score dev entity F1 (same code as evaluate)."""
    from nerflow.finetune import parameter_counts
    from nerflow.inference import predict_tags
    from nerflow.metrics import entity_f1

    params = {**load_params(), "epochs": epochs, "seed": seed, **ACCURACY_PARAMS.get(path, {})}
    labels = json.loads((PROCESSED_DIR / "labels.json").read_text())
    windows = read_jsonl(TOKENIZED_DIR / "train.jsonl")[:windows_count or None]
    model = load_model(None, labels, params).to(device())
    trainable, total = parameter_counts(model)
    start = time.perf_counter()
    if ACCURACY_PATHS[path] is None:
        hand_loop(model, windows, params, width=SEED_LENGTH)
    else:
        project_path(model, windows, params, **ACCURACY_PATHS[path])
    seconds = time.perf_counter() - start
    peak = peak_memory_mb()  # training's, before dev is predicted
    dev = read_jsonl(PROCESSED_DIR / "dev.jsonl")
    predicted = predict_tags(model, read_jsonl(TOKENIZED_DIR / "dev.jsonl"), [len(s["tokens"]) for s in dev],
                             labels, params["eval_batch_size"], pad_id=0, constrained=params["constrained_decoding"])
    return {"dev_f1": entity_f1([s["tags"] for s in dev], predicted), "train_seconds": seconds,
            "trainable_parameters": trainable, "parameters": total, "train_peak_memory_mb": peak}


def accuracy(args) -> None:
    """Dev F1 of each path for each seed; the paths differ by the mean over seeds (seed spread alongside)."""
    epochs = str(args.epochs or 2)
    results = {path: {} for path in args.paths}
    for seed in args.seeds:  # seeds outer, paths inner: load drift hits all paths alike
        for path in args.paths:
            results[path][seed] = run_isolated("--one-accuracy", path, "--windows", str(args.windows),
                                               "--epochs", epochs, "--seeds", str(seed),
                                               "--tokenized", str(TOKENIZED_DIR))
            print(f"seed {seed} {path}: dev F1 {100 * results[path][seed]['dev_f1']:.2f}", file=sys.stderr)
    summary = {path: {"mean_dev_f1": statistics.mean(r["dev_f1"] for r in runs.values()),
                      "min_dev_f1": min(r["dev_f1"] for r in runs.values()),
                      "max_dev_f1": max(r["dev_f1"] for r in runs.values()),
                      "median_train_seconds": statistics.median(r["train_seconds"] for r in runs.values()),
                      "median_train_peak_memory_mb": statistics.median(r["train_peak_memory_mb"] for r in runs.values()),
                      "trainable_parameters": next(iter(runs.values()))["trainable_parameters"],
                      "parameters": next(iter(runs.values()))["parameters"]}
               for path, runs in results.items()}
    baseline = summary[args.paths[0]]["mean_dev_f1"]
    for s in summary.values():
        s["mean_difference_vs_first"] = s["mean_dev_f1"] - baseline
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "model": load_params()["model"],
              "tokenized": str(TOKENIZED_DIR), "train_windows": args.windows, "epochs": int(epochs), "seeds": args.seeds, "dev": "all of dev",
              "summary": summary, "results": results}
    write_json_atomic(args.output or ACCURACY_METRICS, report)
    for path, s in summary.items():
        print(f"{path:30} mean dev entity F1 {100 * s['mean_dev_f1']:6.2f} over seeds {args.seeds} "
              f"(range {100 * s['min_dev_f1']:.2f}-{100 * s['max_dev_f1']:.2f}; {100 * s['mean_difference_vs_first']:+.2f} "
              f"vs {args.paths[0]}), training {s['median_train_seconds']:.0f} s, peak "
              f"{s['median_train_peak_memory_mb']:.0f} MB, {s['trainable_parameters']:,} of {s['parameters']:,} "
              "parameters trained")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=None, choices=sorted(CONFIGS),
                        help="build that architecture from a config instead of loading the base model")
    parser.add_argument("--windows", type=int, default=1024, help="train windows per measurement (0: all of train)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path; medians are reported")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the device's dense peak (989 for an H100 SXM in bf16) to report MFU on real tokens")
    parser.add_argument("--accuracy", action="store_true", help="compare dev entity F1 after training on a subset")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: 1 for speed, 2 for --accuracy)")
    parser.add_argument("--batch-size", type=int, default=None, help="the project's batch_size (default: params.yaml)")
    parser.add_argument("--predict-split", default="test", choices=("dev", "test"), help="the split predicted")
    parser.add_argument("--with", dest="with_paths", action="append", default=[], choices=sorted(EXTRA_PATHS),
                        help="also measure this variant of the project's training path")
    parser.add_argument("--output", default=None, help=f"where to write the report (default {BENCH_METRICS}, "
                        f"or {ACCURACY_METRICS} with --accuracy)")
    parser.add_argument("--seeds", type=lambda text: [int(x) for x in text.split(",")], default=[42],
                        help="--accuracy: comma-separated seeds, each path trained once per seed")
    parser.add_argument("--paths", type=lambda text: text.split(","), default=["train-seed", "train-project", "train-project-bf16"],
                        help=f"--accuracy: comma-separated paths, the first is the baseline ({','.join(ACCURACY_PATHS)})")
    parser.add_argument("--profile", metavar="PATH", choices=sorted({**PATHS, **EXTRA_PATHS}),
                        help="run PATH once under torch.profiler and print where the time goes")
    parser.add_argument("--tokenized", type=Path, default=None,
                        help="the tokenized windows to train and predict on (default data/tokenized)")
    parser.add_argument("--one", choices=sorted({**PATHS, **EXTRA_PATHS}), help=argparse.SUPPRESS)
    parser.add_argument("--one-accuracy", choices=ACCURACY_PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global TOKENIZED_DIR
    TOKENIZED_DIR = args.tokenized or TOKENIZED_DIR
    if args.one:
        print(json.dumps(measure(args.one, args.config, args.windows, args.epochs or 1, args.predict_split, args.batch_size)))
    elif args.one_accuracy:
        print(json.dumps(accuracy_one(args.one_accuracy, args.windows, args.epochs or 2, args.seeds[0])))
    elif args.profile:
        profile(args)
    elif args.accuracy:
        accuracy(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
