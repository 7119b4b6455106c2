"""CoNLL-2003 read as an annotation tool exports it against its token files: do span files cost words, entities, time
or accuracy? Writes metrics/bench_spans.json.

    dvc repro download && python benchmarks/spans_against_tokens.py               # words, entities, preprocess time
    python benchmarks/spans_against_tokens.py --seeds 42,43,44                       # and entity F1 over 3 seeds each

CoNLL-2003 is written as doccano records (benchmarks/conll_spans.py: a record a document, its sentences detokenized
as running text, its entities as character spans) and both are read by the preprocess stage in scratch projects
(params.yaml as the project's, data/raw the files, data/base_model linked). From what preprocess stores:
- words, sentences and entities of each split, both ways, and the words of each document that lie in runs equal to
  the token files' words (difflib's matching blocks, document by document): what the lexer gives back of CoNLL's
  tokenization;
- the preprocess stage's wall time and peak memory, as `dvc repro` runs it (a fresh process, torch's default threads),
  --runs times each, alternated: the medians and their ratio. Run it alone on the machine.
With --seeds, the whole pipeline (preprocess, tokenize, train, evaluate: the default params, `threads: 1`, the
seed) in a scratch project a run, two at a time on two cores: the dev and test entity F1 of each, and the span
files' `char_spans` F1 beside it. The default recipe takes 18-21 minutes a run so (1 h for 3 seeds each).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from difflib import SequenceMatcher
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import machine, ner_project, run_stage, spans_project  # noqa: E402

from nerflow.data import store  # noqa: E402

OUTPUT = ROOT / "metrics" / "bench_spans.json"
SPLITS = ("train", "dev", "test")
KINDS = ("token", "spans")


def projects(scratch: Path, raw: Path, base_model: Path) -> dict:
    """The two scratch projects, made anew: the token files and the doccano records."""
    shutil.rmtree(scratch, ignore_errors=True)
    folders = {kind: scratch / kind for kind in KINDS}
    ner_project(folders["token"], 1, raw, base_model)
    spans_project(folders["spans"], 1, raw, base_model)
    return folders


def stage_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("OMP_NUM_THREADS", None)  # as ./run.sh runs the stages: torch's default threads
    return env


def documents(folder: Path, split: str) -> list:
    """The words of each document preprocess stored, in order."""
    found, doc = [], None
    for row in store.rows(folder / "data" / "processed", split):
        if row["doc"] != doc:
            found.append([])
            doc = row["doc"]
        found[-1] += row["tokens"]
    return found


def compare(folders: dict) -> dict:
    """Words, sentences, entities of each split both ways, and the words in runs equal to the token files'."""
    data = {kind: json.loads((folders[kind] / "metrics" / "data.json").read_text()) for kind in KINDS}
    report = {key: {kind: {split: data[kind][split][key] for split in SPLITS} for kind in KINDS}
              for key in ("tokens", "sentences", "documents")}
    report["words"] = report.pop("tokens")
    report["entities"] = {kind: {split: sum(data[kind][split]["entities"].values()) for split in SPLITS}
                          for kind in KINDS}
    report["entities_by_type_equal"] = all(data["token"][s]["entities"] == data["spans"][s]["entities"] for s in SPLITS)
    report["span_files"] = {split: data["spans"][split]["spans"] for split in SPLITS}
    report["words_in_runs_equal_to_the_token_files"] = {}
    for split in SPLITS:
        token_docs, span_docs = documents(folders["token"], split), documents(folders["spans"], split)
        if len(token_docs) != len(span_docs):
            raise SystemExit(f"{split}: {len(token_docs)} documents in the token files, {len(span_docs)} as spans")
        report["words_in_runs_equal_to_the_token_files"][split] = sum(
            block.size for a, b in zip(token_docs, span_docs)
            for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return report


def time_preprocess(folders: dict, runs: int) -> dict:
    """The preprocess stage's wall time and peak memory, `runs` times each, alternated; medians and their ratio."""
    env, times = stage_env(), {kind: [] for kind in KINDS}
    memory = {kind: [] for kind in KINDS}
    for _ in range(runs):
        for kind in KINDS:
            shutil.rmtree(folders[kind] / "data" / "processed", ignore_errors=True)
            measured = run_stage([sys.executable, "-m", "nerflow.stages.preprocess"], folders[kind], env)
            times[kind].append(measured["wall_s"])
            memory[kind].append(measured["peak_rss_mb"])
    medians = {kind: statistics.median(times[kind]) for kind in KINDS}
    return {"runs": runs, "wall_s": times, "peak_rss_mb": memory, "median_wall_s": medians,
            "median_peak_rss_mb": {kind: statistics.median(memory[kind]) for kind in KINDS},
            "ratio": round(medians["spans"] / medians["token"], 3)}


def pipeline_run(folder: Path, seed: int) -> dict:
    """The pipeline after download, one thread, in `folder` (a scratch project): its eval.json's F1."""
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params.update(seed=seed, threads=1)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = stage_env()
    for stage in ("preprocess", "tokenize", "train", "evaluate"):
        with open(folder / f"{stage}.log", "wb") as log:
            subprocess.run([sys.executable, "-m", f"nerflow.stages.{stage}"], cwd=folder, env=env, stdout=log,
                           stderr=subprocess.STDOUT, check=True)
    scores = json.loads((folder / "metrics" / "eval.json").read_text())
    found = {split: round(100 * scores[split]["f1"], 2) for split in ("dev", "test")}
    if "char_spans" in scores["dev"]:
        found["char_spans"] = {split: round(100 * scores[split]["char_spans"]["f1"], 2) for split in ("dev", "test")}
    return found


def accuracy(scratch: Path, raw: Path, base_model: Path, seeds: list) -> dict:
    """Entity F1 of the default recipe on both kinds of files, a run a seed, two at a time."""
    jobs = {}
    for kind in KINDS:
        for seed in seeds:
            folder = scratch / f"{kind}-{seed}"
            (ner_project if kind == "token" else spans_project)(folder, 1, raw, base_model)
            jobs[kind, seed] = folder
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {key: pool.submit(pipeline_run, folder, key[1]) for key, folder in jobs.items()}
        found = {key: run.result() for key, run in runs.items()}
    report = {kind: {split: {str(seed): found[kind, seed][split] for seed in seeds} for split in ("dev", "test")}
              for kind in KINDS}
    report["spans"]["char_spans"] = {str(seed): found["spans", seed]["char_spans"] for seed in seeds}
    report["mean"] = {kind: {split: round(statistics.fmean(report[kind][split].values()), 2) for split in ("dev", "test")}
                      for kind in KINDS}
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="preprocess runs of each kind (default 7)")
    parser.add_argument("--seeds", default="", help="comma-separated seeds: also the whole pipeline a seed and kind")
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "raw", help="CoNLL-2003 train/dev/test .txt")
    parser.add_argument("--base-model", type=Path, default=ROOT / "data" / "base_model")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/nerflow-spans"))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    previous = json.loads(args.output.read_text()) if args.output.exists() else {}
    # A run without --seeds keeps the F1 this script wrote before (an hour of training), with its date.
    kept = {key: previous[key] for key in ("entity_f1", "entity_f1_date")
            if not args.seeds and "mean" in previous.get("entity_f1", {})}
    report = {**kept}
    report.update(date=time.strftime("%Y-%m-%d"), machine=machine(), torch=torch.__version__,
                  what="CoNLL-2003 as doccano span records (benchmarks/conll_spans.py) against its token files, read by "
                       "the preprocess stage; default params")
    folders = projects(args.scratch, args.raw, args.base_model)
    report["preprocess"] = time_preprocess(folders, args.runs)
    report.update(compare(folders))
    print(json.dumps({k: report[k] for k in ("preprocess", "words", "sentences", "entities")}), file=sys.stderr)
    if args.seeds:
        report["entity_f1"] = accuracy(args.scratch, args.raw, args.base_model,
                                       [int(s) for s in args.seeds.split(",")])
        report["entity_f1_date"] = report["date"]
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
