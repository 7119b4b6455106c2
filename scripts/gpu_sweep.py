"""What an experiment costs on a GPU, whole, and what one GPU gains by running a sweep's experiments together.

    python scripts/gpu_sweep.py prepare .device/sweep      # here, after `dvc repro tokenize`: what the GPU needs
    python scripts/gpu_sweep.py run .device/sweep --out $OUT --jobs 8 [--deadline 420]   # there

`prepare` copies data/processed, data/tokenized and data/raw (gzipped: the train stage only hashes it for the
card) and the base model (its weights in float16, to travel in the 64 MiB a device call carries; the train stage
loads them as float32) into one folder with params.yaml, and the wheels of what the GPU image may lack: seqeval
(built here) and pydantic with what it needs (params.yaml's schema), for the image's Python.

`run`, on the GPU:
1. One experiment on the default params, timed whole: the train stage's work (nerflow.stages.train.train, the
   stage's own function, without its DVCLive curves: DVCLive needs DVC, which the GPU image lacks) and then the
   evaluate stage (`python -m nerflow.stages.evaluate`), each a fresh process, from process start to its outputs
   written. Their output lines are timestamped as they come: the model loaded ("train: tuning"), the first
   step, each epoch's end (dev scored), the model written ("kept epoch"), dev and test scored.
2. A sweep of 8 experiments (lr 1e-4, 2e-4, 3e-4, 5e-4 x seed 42, 43), each in its own working copy: one after
   the other, then `--jobs` at a time, as `dvc queue start -j N` runs them (each stage process takes its GPU
   slot and its share of the CPU threads: nerflow.training.runtime.place_process). Each experiment's dev F1
   both ways.
Writes OUT/bench_gpu_sweep.json (experiment_wall_s, sequential_s, concurrent_s, sweep_speedup, the machine, the
date, every experiment) and prints a table. On a CPU it runs the same way (the test runs it on the tiny fixture).
"""

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GPU_PYTHON = "3.12"  # the GPU image's Python (the device tool's KINDS.md)
SCHEMA_PACKAGES = ("pydantic", "pydantic_core", "annotated-types", "typing-inspection", "typing_extensions")
SWEEP = [{"lr": lr, "seed": seed} for lr in (1e-4, 2e-4, 3e-4, 5e-4) for seed in (42, 43)]
TRAIN = """
import sys
from nerflow.params import load_params
from nerflow.training.runtime import place_process
params = load_params()
place_process(params)
from nerflow.stages.train import train
train(params, curves=False)
"""
MARKS = {  # output line -> what it marks (the first line matching each, in order)
    "model_loaded": re.compile(r"^train: tuning"),
    "first_step": re.compile(r"\|\s*1/\d+ \["),
    "kept": re.compile(r"^kept epoch"),
    "dev_scored": re.compile(r"^dev: "),
    "test_scored": re.compile(r"^test: "),
}
EPOCH = re.compile(r"^epoch (\d+): dev (f1|accuracy) ([0-9.]+)")


def prepare(folder: Path, source: Path = ROOT) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("processed", "tokenized"):
        shutil.rmtree(folder / "data" / name, ignore_errors=True)
        shutil.copytree(source / "data" / name, folder / "data" / name)
    shutil.rmtree(folder / "data" / "raw", ignore_errors=True)
    (folder / "data" / "raw").mkdir(parents=True)
    for raw in (source / "data" / "raw").iterdir():
        with open(raw, "rb") as data, gzip.open(folder / "data" / "raw" / (raw.name + ".gz"), "wb") as out:
            shutil.copyfileobj(data, out)
    base = folder / "data" / "base_model"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(source / "data" / "base_model", base, ignore=shutil.ignore_patterns("model.safetensors"))
    weights = load_file(source / "data" / "base_model" / "model.safetensors")
    save_file({k: v.to(torch.float16) if v.is_floating_point() else v for k, v in weights.items()},
              base / "model.safetensors", metadata={"format": "pt"})
    shutil.copy(source / "params.yaml", folder / "params.yaml")
    wheels = folder / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), "seqeval==1.2.2"],
                   check=True)
    # params.yaml's schema needs pydantic, which the GPU image may lack: the tested versions, built for its Python.
    pinned = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", GPU_PYTHON, "--implementation", "cp", "--platform", "manylinux_2_17_x86_64",
                    "--platform", "manylinux2014_x86_64", "-d", str(wheels),
                    *(f"{name}=={pinned[name]}" for name in SCHEMA_PACKAGES)], check=True)
    print(f"{folder}: {sum(f.stat().st_size for f in folder.rglob('*') if f.is_file()) / 2**20:.1f} MiB")


def working_copy(project: Path, where: Path, changes: dict) -> Path:
    """A folder to run one experiment in: params.yaml with `changes`, the data shared (linked)."""
    import yaml

    shutil.rmtree(where, ignore_errors=True)
    (where / "data").mkdir(parents=True)
    for name in ("raw", "processed", "tokenized", "base_model"):
        (where / "data" / name).symlink_to((project / "data" / name).resolve())
    params = yaml.safe_load((project / "params.yaml").read_text())
    params.update(changes)
    (where / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return where


def run_process(command: list, cwd: Path, env: dict, log: Path) -> dict:
    """Run one stage process; the time of each marked line since the process started, and its wall time."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen, epochs, text = {}, {}, []
    buffer = b""
    while True:
        chunk = process.stdout.read1(65536)
        if not chunk:
            break
        now = time.perf_counter() - start
        buffer += chunk
        *lines, buffer = re.split(rb"[\r\n]", buffer)
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            text.append(line)
            for mark, pattern in MARKS.items():
                if mark not in seen and pattern.search(line):
                    seen[mark] = round(now, 3)
            epoch = EPOCH.search(line)
            if epoch:
                epochs[int(epoch.group(1))] = {"at_s": round(now, 3), "dev_score": float(epoch.group(3)) / 100}
    code = process.wait()
    log.write_text("\n".join(text) + "\n")
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} in {cwd} failed ({code}); see {log}")
    return {"wall_s": round(time.perf_counter() - start, 3), "marks": seen, "epochs": epochs}


def experiment(folder: Path, env: dict, logs: Path, name: str) -> dict:
    """Train, then evaluate, each a fresh process in `folder`; their times and the scores written."""
    start = time.perf_counter()
    train = run_process([sys.executable, "-c", TRAIN], folder, env, logs / f"{name}-train.log")
    evaluate = run_process([sys.executable, "-m", "nerflow.stages.evaluate"], folder, env, logs / f"{name}-evaluate.log")
    scores = json.loads((folder / "metrics" / "eval.json").read_text())
    metric = "f1" if "f1" in scores["dev"] else "accuracy"
    return {"wall_s": round(time.perf_counter() - start, 3), "train": train, "evaluate": evaluate,
            f"dev_{metric}": scores["dev"][metric], f"test_{metric}": scores["test"][metric]}


def phases(one: dict) -> dict:
    """Where one experiment's time went, from its marks (seconds)."""
    train, evaluate = one["train"], one["evaluate"]
    marks, epochs = train["marks"], train["epochs"]
    out = {"train_start_and_model_load_s": marks.get("model_loaded"),
           "train_to_first_step_s": marks.get("first_step"),
           "train_epochs_and_dev_scoring_s": (max(e["at_s"] for e in epochs.values()) - marks["first_step"])
           if epochs and "first_step" in marks else None,
           "train_writing_and_exit_s": train["wall_s"] - max(e["at_s"] for e in epochs.values()) if epochs else None,
           "train_wall_s": train["wall_s"],
           "evaluate_to_dev_scored_s": evaluate["marks"].get("dev_scored"),
           "evaluate_test_s": (evaluate["marks"]["test_scored"] - evaluate["marks"]["dev_scored"])
           if {"test_scored", "dev_scored"} <= evaluate["marks"].keys() else None,
           "evaluate_writing_and_exit_s": evaluate["wall_s"] - evaluate["marks"].get("test_scored", evaluate["wall_s"]),
           "evaluate_wall_s": evaluate["wall_s"]}
    return {k: round(v, 3) if v is not None else None for k, v in out.items()}


def machine() -> dict:
    import torch

    if torch.cuda.is_available():
        return {"device": torch.cuda.get_device_name(), "gpus": torch.cuda.device_count(), "torch": torch.__version__,
                "cpus": os.cpu_count()}
    return {"device": "cpu", "gpus": 0, "torch": torch.__version__, "cpus": os.cpu_count()}


def run(project: Path, out: Path, jobs: int, sweep: list, deadline: float, scratch: Path) -> dict:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
               PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
    report = {**machine(), "date": time.strftime("%Y-%m-%d"), "jobs": jobs, "sweep": sweep, "code": git_revision()}
    one = experiment(working_copy(project, scratch / "one", {}), env, logs, "one")
    report.update(experiment_wall_s=one["wall_s"], experiment=one, experiment_phases=phases(one))
    print(f"one experiment: {one['wall_s']:.1f} s, {phases(one)}", file=sys.stderr)
    results = {"sequential": [None] * len(sweep), "concurrent": [None] * len(sweep)}
    begin = time.perf_counter()
    for i, changes in enumerate(sweep):
        if time.perf_counter() - started > deadline:
            raise SystemExit(f"deadline: {i} of {len(sweep)} sequential experiments done")
        results["sequential"][i] = experiment(working_copy(project, scratch / f"seq{i}", changes), env, logs, f"seq{i}")
    report["sequential_s"] = round(time.perf_counter() - begin, 3)
    print(f"sequential: {report['sequential_s']:.1f} s", file=sys.stderr)
    copies = [working_copy(project, scratch / f"con{i}", changes) for i, changes in enumerate(sweep)]
    begin = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:  # each thread waits on its experiment's processes
        for i, result in enumerate(pool.map(lambda i: experiment(copies[i], env, logs, f"con{i}"), range(len(sweep)))):
            results["concurrent"][i] = result
    report["concurrent_s"] = round(time.perf_counter() - begin, 3)
    report["sweep_speedup"] = round(report["sequential_s"] / report["concurrent_s"], 3)
    metric = next(k for k in results["sequential"][0] if k.startswith("dev_"))
    report["experiments"] = [{**changes, f"{metric}_sequential": s[metric], f"{metric}_concurrent": c[metric],
                              "wall_s_sequential": s["wall_s"], "wall_s_concurrent": c["wall_s"],
                              "first_step_s_concurrent": c["train"]["marks"].get("first_step")}
                             for changes, s, c in zip(sweep, results["sequential"], results["concurrent"])]
    report["total_s"] = round(time.perf_counter() - started, 3)
    (out / "bench_gpu_sweep.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"{'lr':>8} {'seed':>5} {metric + ' seq':>14} {metric + ' conc':>14} {'wall seq':>9} {'wall conc':>9}")
    for e in report["experiments"]:
        print(f"{e['lr']:>8} {e['seed']:>5} {e[metric + '_sequential']:14.4f} {e[metric + '_concurrent']:14.4f} "
              f"{e['wall_s_sequential']:9.1f} {e['wall_s_concurrent']:9.1f}")
    print(f"one experiment {report['experiment_wall_s']:.1f} s; sequential {report['sequential_s']:.1f} s, "
          f"{jobs} at a time {report['concurrent_s']:.1f} s: {report['sweep_speedup']:.2f}x")
    return report


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("prepare", "run"))
    parser.add_argument("project", type=Path)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu_sweep")))
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--experiments", type=int, default=len(SWEEP), help="the first N of the sweep")
    parser.add_argument("--deadline", type=float, default=420, help="seconds: stop starting experiments after this")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/nerflow-gpu-sweep"))
    parser.add_argument("--source", type=Path, default=ROOT, help="prepare: the project whose data/ to take")
    args = parser.parse_args()
    if args.action == "prepare":
        return prepare(args.project, args.source)
    run(args.project, args.out, args.jobs, SWEEP[:args.experiments], args.deadline, args.scratch)


if __name__ == "__main__":
    main()
