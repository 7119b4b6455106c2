"""What the commands users run cost, whole processes on this machine: `nerflow rank` against `nerflow predict` on the
same pool (rank's promise: its cost is predict's), and a process's start to its first answer with the torch model
and with the exported ONNX one. Writes metrics/bench_commands.json.

    dvc repro && dvc repro export/dvc.yaml && python benchmarks/commands.py     # models/finetuned, models/onnx

The pool is CoNLL-2003 dev's sentences as plain text, a line each (3,250). Runs alternate, --runs of each, medians
and their ratio; run it alone on the machine.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nerflow.tasks.ner.preprocess.conll import read_conll  # noqa: E402

OUTPUT = ROOT / "metrics" / "bench_commands.json"
TEXT = "Angela Merkel visited Paris on Monday."


def timed(command: list, cwd: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1")
    env.pop("OMP_NUM_THREADS", None)  # torch's default threads, as a user runs them
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def alternated(commands: dict, runs: int, cwd: Path) -> dict:
    """Each command's wall times, `runs` of each, alternated; their medians."""
    times = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(round(timed(command, cwd), 3))
    return {"wall_s": times, "median_s": {name: statistics.median(values) for name, values in times.items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=Path, default=ROOT / "data" / "raw" / "dev.txt", help="a CoNLL file")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "finetuned")
    parser.add_argument("--onnx", type=Path, default=ROOT / "models" / "onnx")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "nerflow.tools.cli"]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        texts = [" ".join(s.tokens) for s in read_conll(args.pool)]
        (scratch / "pool.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        pool = alternated({"predict": cli + ["predict", str(args.model), "--file", "pool.txt", "--output", "out.jsonl"],
                           "rank": cli + ["rank", str(args.model), "pool.txt", "--out", "ranked"]}, args.runs, scratch)
        pool.update(texts=len(texts), ratio=round(pool["median_s"]["rank"] / pool["median_s"]["predict"], 3))
        shutil.rmtree(scratch / "ranked", ignore_errors=True)
        first = {"torch": cli + ["predict", str(args.model), TEXT]}
        if args.onnx.exists():
            first["onnx"] = cli + ["predict", str(args.onnx), TEXT, "--runtime", "onnx"]
        start = alternated(first, args.runs, scratch)
    served = json.loads((args.onnx / "served.json").read_text()) if (args.onnx / "served.json").exists() else None
    report = {"date": time.strftime("%Y-%m-%d"), "runs": args.runs, "rank_against_predict": pool,
              "start_to_first_answer": {**start, "text": TEXT, "onnx_variant": served and served["variant"]}}
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
