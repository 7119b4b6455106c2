"""Speed of the train stage's training and the evaluate stage's prediction, on the pipeline's own windows.

    python benchmarks/speed.py                          # CPU: the base model, data/tokenized (after dvc repro tokenize)
    python benchmarks/speed.py --config bert-base       # a bert-base built from a config (no weights needed)
    python benchmarks/speed.py --engine capture=false   # the train stage's loop with another engine setting
    python benchmarks/speed.py --profile train --windows 256   # where the time of one path goes

Paths: `train` is nerflow.training.loop.fit as the train stage runs it (GPU: packed fixed-shape steps, captured),
without its dev scoring; `predict` is nerflow.training.inference.predict_windows as evaluate runs it. Each
measurement runs in a fresh process, so that its peak memory is its own, and repeats interleave the paths, so
that drift in machine load hits them alike. Writes metrics/bench.json (medians, every run), prints a table.

Earlier baselines (a hand-written seed-style loop, transformers' Trainer, regionally compiled blocks) were removed
with the code they measured; their figures are in BENCHMARKS.md with the commit that made them.
"""

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from nerflow.data import store
from nerflow.data.files import read_json, write_json_atomic
from nerflow.data.store import Windows
from nerflow.params import load_params
from nerflow.paths import BASE_MODEL_DIR, LABELS_FILE, PROCESSED_DIR, TOKENIZED_DIR
from nerflow.tasks import task_part

BENCH_METRICS = Path("metrics/bench.json")
# Architectures built from a config: bert-base for the GPU figures, bert-tiny to try the GPU script on a CPU.
CONFIGS = {"bert-base": {}, "bert-tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                              intermediate_size=128)}
PATHS = ("train", "predict")
KERNEL_LAUNCHES = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx")
GRAPH_LAUNCHES = ("cudaGraphLaunch", "cuGraphLaunch")  # one replays a whole captured step


def device() -> torch.device:
    from nerflow.training.runtime import default_device

    return torch.device(default_device())


def load_model(config, task, labels: list, params: dict):
    from nerflow.training.models import load_base_model

    if config in CONFIGS:  # speed does not depend on the weights
        from transformers import BertConfig

        torch.manual_seed(params["seed"])
        dropout = params.get("attention_dropout")
        return task.model_class.from_config(BertConfig(
            num_labels=len(labels), attention_probs_dropout_prob=0.1 if dropout is None else dropout,
            **CONFIGS[config]), attn_implementation="sdpa")
    return load_base_model(params, labels, BASE_MODEL_DIR, task.model_class)


def engine_overrides(pairs: list) -> dict:
    """--engine key=value pairs as Engine fields (true/false, integers, none)."""
    values = {"true": True, "false": False, "none": None}
    return {key: values.get(value.lower(), int(value) if value.isdigit() else value)
            for key, value in (pair.split("=", 1) for pair in pairs)}


def measure(path: str, args, around=contextlib.nullcontext()) -> dict:
    """One measurement in this process: wall time, real and computed tokens, peak memory. `around` wraps the
    timed part (the profiler, for --profile)."""
    from nerflow.training.captured import engine_for
    from nerflow.training.inference import predict_windows
    from nerflow.training.loop import fit

    params = {**load_params(), "epochs": args.epochs, "min_steps": 0, "patience": None}
    if args.batch_size:
        params["batch_size"] = args.batch_size
    task = task_part(params, "train")
    labels = read_json(PROCESSED_DIR / LABELS_FILE)
    split = "train" if path == "train" else args.predict_split
    windows = Windows(store.read_split(args.tokenized, split))
    if split == "train" and args.windows:
        windows = windows.slice(0, min(args.windows, len(windows)))
    model = load_model(args.config, task, labels, params).to(device())  # the copy to the device is not timed
    tokens_per_example = task.batch_unit(store.read_split(args.tokenized, "train"), PROCESSED_DIR)
    engine = replace(engine_for(device(), 1, task.packable), **engine_overrides(args.engine))
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with around:
        if path == "train":
            state = fit(model, windows, params, pad_id=0, evaluate=None, engine=engine, progress=False,
                        tokens_per_example=tokens_per_example, packable=task.packable)
            computed = state.computed_tokens
        else:
            model.eval()
            predict_windows(model, windows, params["eval_batch_size"], pad_id=0)
            computed = None
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    passes = args.epochs if split == "train" else 1
    real = int(windows.lengths.sum()) * passes
    return {"seconds": seconds, "windows": len(windows) * passes, "real_tokens": real, "computed_tokens": computed,
            "real_share": real / computed if computed else None, "real_tokens_per_s": real / seconds,
            "windows_per_s": len(windows) * passes / seconds, "peak_memory_mb": peak_memory_mb()}


def peak_memory_mb() -> float:
    """This process's peak so far: allocated GPU memory on CUDA, resident memory (RSS) on the CPU."""
    peak = (torch.cuda.max_memory_allocated() if torch.cuda.is_available()
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return peak / 2**20


def profile(args) -> None:
    """One path under torch.profiler: the operators that take the time, and on CUDA the kernel launches and
    the host time between them, to tell arithmetic from per-step overhead (BENCHMARKS.md, GPU)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    cuda = torch.cuda.is_available()
    recorder = profiler(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else []))
    result = measure(args.profile, args, recorder)
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


def machine() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def forwarded(args) -> list:
    """The options a fresh process of this script needs to measure as this one was asked to."""
    return ["--windows", str(args.windows), "--epochs", str(args.epochs), "--predict-split", args.predict_split,
            "--batch-size", str(args.batch_size or 0), "--tokenized", str(args.tokenized),
            *(["--config", args.config] if args.config else []), *[f"--engine={e}" for e in args.engine]]


def speed(args) -> None:
    runs = {path: [] for path in PATHS}
    for repeat in range(args.repeats):
        for path in PATHS:
            result = subprocess.run([sys.executable, __file__, "--one", path, *forwarded(args)],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"speed: {path} failed:\n{result.stderr}")
            runs[path].append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(f"repeat {repeat + 1}/{args.repeats} {path}: {runs[path][-1]['seconds']:.1f} s", file=sys.stderr)
    median = {path: {key: statistics.median(r[key] for r in rs) if rs[0][key] is not None else None for key in rs[0]}
              for path, rs in runs.items()}
    params = load_params()
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "model": args.config or params["model"],
              "tokenized": str(args.tokenized), "repeats": args.repeats, "train_windows": args.windows or "all",
              "epochs": args.epochs, "batch_size": args.batch_size or params["batch_size"],
              "predict_split": args.predict_split, "engine": engine_overrides(args.engine),
              "median": median, "runs": runs}
    write_json_atomic(args.output or BENCH_METRICS, report)
    print(f"{report['machine']}; model {report['model']}; medians of {args.repeats}")
    print(f"{'path':10} {'wall s':>8} {'real tok/s':>11} {'real share':>10} {'windows/s':>10} {'peak MB':>8}")
    for path, m in median.items():
        share = f"{m['real_share']:10.2f}" if m["real_share"] is not None else f"{'-':>10}"
        print(f"{path:10} {m['seconds']:8.2f} {m['real_tokens_per_s']:11.0f} {share} {m['windows_per_s']:10.1f} "
              f"{m['peak_memory_mb']:8.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=None, choices=sorted(CONFIGS),
                        help="build that architecture from a config instead of loading the base model")
    parser.add_argument("--windows", type=int, default=1024, help="train windows per measurement (0: all of train)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path; medians are reported")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=None, help="the train stage's batch_size (default: params.yaml)")
    parser.add_argument("--predict-split", default="test", choices=("dev", "test"), help="the split predicted")
    parser.add_argument("--engine", action="append", default=[], metavar="KEY=VALUE",
                        help="an Engine field for the train path (packed, capture, bf16, row_width), e.g. capture=false")
    parser.add_argument("--output", default=None, help=f"where to write the report (default {BENCH_METRICS})")
    parser.add_argument("--profile", metavar="PATH", choices=PATHS, help="run PATH once under torch.profiler")
    parser.add_argument("--tokenized", type=Path, default=TOKENIZED_DIR, help="the windows (default data/tokenized)")
    parser.add_argument("--one", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args)))
    elif args.profile:
        profile(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
