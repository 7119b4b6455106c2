"""Does annotating what the model is least sure of first pay? An active-learning simulation on CoNLL-2003: dev entity F1
by annotated tokens, `nerflow rank --strategy margin` against random choice, over seeds. Writes
metrics/bench_active.json and the curves metrics/active/{margin,random}.tsv (the plot of metrics/active/dvc.yaml).

    dvc repro download && python benchmarks/active.py              # 3 seeds, 500 sentences and 3 rounds of 500: 1.2 h

The pool is CoNLL-2003 train's sentences, less what active learning famously picks and an annotator gains nothing
from: the -DOCSTART- lines and one-token sentences (counted). Each seed draws a seed set of --seed-size sentences at
random; then each round adds --budget sentences, chosen by `nerflow rank` (the real command, on the pool left, with
the model of the round before) or at random (seeded), and trains again from the base model on all chosen so far.
Each training is the pipeline's own stages (preprocess, tokenize, train) in a scratch project, the default params
but for what the 2-core machine needs to run 21 trainings in about an hour (all in the JSON): `context: sentence`
(chosen sentences have no document around them), `min_steps` 300 (small sets get more epochs, as the default's
1,000 do, at a third of the cost), one thread a run and two runs at a time, and dev scored on its first
--dev-sentences sentences (whole documents) after each epoch: the curve's dev F1 is the train stage's kept epoch's.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nerflow.params import load_params  # noqa: E402
from nerflow.tasks.ner.preprocess.conll import read_conll  # noqa: E402

OUTPUT = ROOT / "metrics" / "bench_active.json"
CURVES = ROOT / "metrics" / "active"
STRATEGIES = ("margin", "random")


def conll(sentences: list) -> str:
    """Sentences [(tokens, tags)] as a CoNLL file, each its own document."""
    return "".join("-DOCSTART- O\n\n" + "".join(f"{t} {g}\n" for t, g in zip(tokens, tags)) + "\n"
                   for tokens, tags in sentences)


def dev_subset(path: Path, size: int) -> list:
    """The first whole documents of dev holding at least `size` sentences."""
    found, doc = [], None
    for sentence in read_conll(path):
        if sentence.doc != doc and len(found) >= size:
            break
        doc = sentence.doc
        found.append((sentence.tokens, sentence.tags))
    return found


class Runner:
    """Trainings and rankings in scratch projects, each a fresh process as `dvc repro` runs it."""

    def __init__(self, scratch: Path, base_model: Path, dev: list, min_steps: int):
        self.scratch, self.base_model, self.dev, self.min_steps = scratch, base_model, dev, min_steps
        self.env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
        self.lock = threading.Lock()

    def train(self, name: str, sentences: list, seed: int) -> tuple:
        """(dev F1 of the kept epoch, the project folder holding models/finetuned) of a training on `sentences`."""
        folder = self.scratch / name
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "data" / "raw").mkdir(parents=True)
        (folder / "data" / "raw" / "train.txt").write_text(conll(sentences), encoding="utf-8")
        for split in ("dev", "test"):  # test: never scored here, named so that nothing is split off train
            (folder / "data" / "raw" / f"{split}.txt").write_text(conll(self.dev), encoding="utf-8")
        (folder / "data" / "base_model").symlink_to(self.base_model.resolve())
        params = load_params(ROOT / "params.yaml")
        params["dataset"].update(source="local", sha256={}, files={s: f"{s}.txt" for s in ("train", "dev", "test")})
        params.update(seed=seed, context="sentence", min_steps=self.min_steps, threads=1)
        (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        for stage in ("preprocess", "tokenize", "train"):
            with open(folder / f"{stage}.log", "wb") as log:
                subprocess.run([sys.executable, "-m", f"nerflow.stages.{stage}"], cwd=folder, env=self.env, stdout=log,
                               stderr=subprocess.STDOUT, check=True)
        metrics = json.loads((folder / "metrics" / "train" / "metrics.json").read_text())
        return round(100 * metrics["train"]["best_dev_f1"], 2), folder

    def rank(self, folder: Path, pool: list, ids: list) -> list:
        """The ids of `pool`'s sentences as `nerflow rank --strategy margin` orders them, with the model in `folder`."""
        path = folder / "pool.txt"
        path.write_text("".join("".join(f"{t} O\n" for t in tokens) + "\n" for tokens, _ in pool), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "nerflow.tools.cli", "rank", "models/finetuned", "pool.txt", "--conll",
                        "--strategy", "margin", "--min-words", "1", "--out", "ranked"], cwd=folder, env=self.env,
                       check=True, capture_output=True)
        lines = [0]  # pool.txt's line of each sentence's first token, as the CoNLL reader numbers them
        for tokens, _ in pool:
            lines.append(lines[-1] + len(tokens) + 1)
        by_line = {line + 1: ids[i] for i, line in enumerate(lines[:-1])}
        order = [json.loads(row)["line"] for row in (folder / "ranked" / "ranked.doccano.jsonl").read_text().splitlines()]
        return [by_line[line] for line in order]


def chain(runner: Runner, sentences: list, seed: int, strategy: str, seed_set: list, first: tuple, rounds: int,
          budget: int) -> list:
    """One strategy's rounds from the seed set: [{round, sentences, tokens, dev_f1}]."""
    chosen, (f1, folder) = list(seed_set), first
    points = [{"round": 0, "sentences": len(chosen), "tokens": sum(len(sentences[i][0]) for i in chosen), "dev_f1": f1}]
    rng = random.Random(seed * 1000 + 1)
    for round_ in range(1, rounds + 1):
        taken = set(chosen)
        left = [i for i in range(len(sentences)) if i not in taken]
        if strategy == "random":
            new = rng.sample(left, budget)
        else:
            new = runner.rank(folder, [sentences[i] for i in left], left)[:budget]
        chosen += new
        f1, folder = runner.train(f"{seed}-{strategy}-{round_}", [sentences[i] for i in chosen], seed)
        points.append({"round": round_, "sentences": len(chosen), "tokens": sum(len(sentences[i][0]) for i in chosen),
                       "dev_f1": f1})
        print(f"seed {seed} {strategy} round {round_}: {len(chosen)} sentences, dev F1 {f1}", file=sys.stderr, flush=True)
    return points


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--seed-size", type=int, default=500, help="sentences in the seed set (default 500)")
    parser.add_argument("--budget", type=int, default=500, help="sentences added a round (default 500)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dev-sentences", type=int, default=1000, help="dev's first sentences, whole documents")
    parser.add_argument("--min-steps", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time, a thread each (default 2)")
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "raw", help="CoNLL-2003 train.txt and dev.txt")
    parser.add_argument("--base-model", type=Path, default=ROOT / "data" / "base_model")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/nerflow-active"))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--curves", type=Path, default=CURVES)
    args = parser.parse_args()
    started = time.time()
    everything = [(s.tokens, s.tags) for s in read_conll(args.raw / "train.txt")]
    sentences = [s for s in everything if len(s[0]) >= 2]
    runner = Runner(args.scratch, args.base_model, dev_subset(args.raw / "dev.txt", args.dev_sentences), args.min_steps)
    seeds = [int(s) for s in args.seeds.split(",")]
    seed_sets = {seed: random.Random(seed).sample(range(len(sentences)), args.seed_size) for seed in seeds}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        firsts = {seed: pool.submit(runner.train, f"{seed}-seed-set", [sentences[i] for i in seed_sets[seed]], seed)
                  for seed in seeds}
        chains = {(seed, strategy): pool.submit(lambda s=seed, st=strategy: chain(
            runner, sentences, s, st, seed_sets[s], firsts[s].result(), args.rounds, args.budget))
            for seed in seeds for strategy in STRATEGIES}
        curves = {key: future.result() for key, future in chains.items()}
    report = {
        "date": time.strftime("%Y-%m-%d"), "hours": round((time.time() - started) / 3600, 2),
        "pool": {"sentences": len(sentences), "left_out_one_token": sum(len(s[0]) == 1 for s in everything),
                 "tokens": sum(len(s[0]) for s in sentences)},
        "settings": {"seed_size": args.seed_size, "budget": args.budget, "rounds": args.rounds,
                     "dev_sentences": len(runner.dev), "min_steps": args.min_steps, "context": "sentence",
                     "threads": 1, "jobs": args.jobs},
        "runs": {strategy: {str(seed): curves[seed, strategy] for seed in seeds} for strategy in STRATEGIES},
    }
    report["mean"] = {strategy: [{"round": r, "tokens": round(statistics.fmean(curves[s, strategy][r]["tokens"] for s in seeds)),
                                  "dev_f1": round(statistics.fmean(curves[s, strategy][r]["dev_f1"] for s in seeds), 2),
                                  "dev_f1_min": min(curves[s, strategy][r]["dev_f1"] for s in seeds),
                                  "dev_f1_max": max(curves[s, strategy][r]["dev_f1"] for s in seeds)}
                                 for r in range(args.rounds + 1)] for strategy in STRATEGIES}
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    args.curves.mkdir(parents=True, exist_ok=True)
    for strategy in STRATEGIES:
        rows = [f"{p['tokens']}\t{p['dev_f1']}" for p in report["mean"][strategy]]
        (args.curves / f"{strategy}.tsv").write_text("annotated_tokens\tdev_f1\n" + "\n".join(rows) + "\n")
    print(f"wrote {args.output} and {args.curves}/", file=sys.stderr)


if __name__ == "__main__":
    main()
