"""What a stage process costs before its work: from process start to the model's first forward pass, that is the
train stage's first training step and the evaluate stage's first prediction (CoNLL-2003); and the evaluate stage
whole on a dev and test of a few sentences (almost all start-up and reports: imports, model load, data read,
reports written, exit).

The first forward pass is seen from outside the code under test, the same way for any version of it: the stage
runs as `python -m` would run it, in a process whose torch.nn.Module.__call__ reports the time and stops the
process at the first call of a token-classification model.

    python benchmarks/startup.py --repeats 5                         # after `dvc repro` (data/, models/finetuned)
    python benchmarks/startup.py --code before --src ../old/src --module nerflow.{stage} --model models/ner

Each code (--code) is measured by its own invocation, train then evaluate, repeat after repeat; each figure is the
median of the repeats. Results merge into metrics/bench_startup.json under the code's name. Run it alone on the
machine, and run the codes one right after the other.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import machine, run_stage  # noqa: E402  (the same stage runner and memory sampler)

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "metrics" / "bench_startup.json"
FEW = 8  # sentences of dev and test for evaluate
PROBE = """
import runpy, sys, time, psutil, torch
started = psutil.Process().create_time()
call = torch.nn.Module.__call__
def first_forward(self, *args, **kwargs):
    if type(self).__name__.endswith("ForTokenClassification"):
        print(f"first forward pass {time.time() - started:.3f} s", file=sys.stderr, flush=True)
        raise SystemExit(0)
    return call(self, *args, **kwargs)
torch.nn.Module.__call__ = first_forward
sys.argv = [sys.argv[0]]
runpy.run_module("MODULE", run_name="__main__", alter_sys=True)
"""
# The least a stage can do before its first forward pass: import torch and transformers, load the model, call it.
FLOOR = """
import torch
from transformers import AutoModelForTokenClassification
model = AutoModelForTokenClassification.from_pretrained("MODEL_DIR")
model(input_ids=torch.tensor([[101, 102]]))
"""


def to_first_forward(module: str, folder: Path, env: dict) -> float:
    """Seconds from process start to the first forward pass of the stage's model."""
    import subprocess

    probe = PROBE.replace("MODULE", module)
    if module.startswith("floor:"):  # the least a stage could do: FLOOR, as a module of the scratch folder
        (folder / "floor_program.py").write_text(FLOOR.replace("MODEL_DIR", module.split(":", 1)[1]))
        probe = PROBE.replace("MODULE", "floor_program")
    result = subprocess.run([sys.executable, "-c", probe], cwd=folder, env=env, capture_output=True, text=True)
    found = re.findall(r"first forward pass ([0-9.]+) s", result.stderr)
    if not found:
        raise SystemExit(f"{module} reached no forward pass in {folder}:\n{result.stderr[-3000:]}")
    return float(found[-1])


def project(folder: Path, raw: Path, base_model: Path, model: Path, model_dir: str) -> None:
    """CoNLL-2003 train as it is, dev and test cut to their first FEW sentences, and a trained model."""
    (folder / "data" / "raw").mkdir(parents=True)
    shutil.copy(raw / "train.txt", folder / "data" / "raw" / "train.txt")
    for split in ("dev", "test"):
        sentences = (raw / f"{split}.txt").read_text().split("\n\n")
        (folder / "data" / "raw" / f"{split}.txt").write_text("\n\n".join(sentences[:FEW + 1]) + "\n")
    (folder / "data" / "base_model").symlink_to(base_model.resolve())
    shutil.copytree(model, folder / model_dir)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"].update(source="local", sha256={}, files={s: f"{s}.txt" for s in ("train", "dev", "test")})
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", default="after")
    parser.add_argument("--src", default=str(ROOT / "src"))
    parser.add_argument("--module", default="nerflow.stages.{stage}")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "finetuned", help="a trained model folder")
    parser.add_argument("--model-dir", default="models/finetuned", help="where the code under test reads the model")
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "raw")
    parser.add_argument("--base-model", type=Path, default=ROOT / "data" / "base_model")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/nerflow-startup"))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    folder = args.scratch / args.code
    shutil.rmtree(folder, ignore_errors=True)
    project(folder, args.raw, args.base_model, args.model, args.model_dir)
    env = dict(os.environ, PYTHONPATH=str(Path(args.src).resolve()), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("OMP_NUM_THREADS", None)
    for stage in ("preprocess", "tokenize"):
        run_stage([sys.executable, "-m", args.module.format(stage=stage)], folder, env)
    runs = {"train_to_first_step_s": [], "evaluate_to_first_prediction_s": [], "evaluate_whole_s": [],
            "floor_to_first_forward_s": []}
    for repeat in range(args.repeats):
        runs["floor_to_first_forward_s"].append(to_first_forward(f"floor:{args.model_dir}", folder, env))
        runs["train_to_first_step_s"].append(to_first_forward(args.module.format(stage="train"), folder, env))
        runs["evaluate_to_first_prediction_s"].append(to_first_forward(args.module.format(stage="evaluate"), folder, env))
        evaluate = run_stage([sys.executable, "-m", args.module.format(stage="evaluate")], folder, env)
        runs["evaluate_whole_s"].append(evaluate["wall_s"])
        print(f"{args.code} {repeat + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in runs.items()),
              file=sys.stderr)
    report = json.loads(args.output.read_text()) if args.output.exists() else {}
    report.setdefault("codes", {})[args.code] = {
        **{key: statistics.median(values) for key, values in runs.items()}, "runs": runs, "src": args.src,
        "date": time.strftime("%Y-%m-%d")}
    report["machine"], report["what"] = machine(), __doc__.split("\n\n")[0]
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
