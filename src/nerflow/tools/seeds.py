"""`nerflow seeds`: the experiments that differ only in their seed, as one setting each: the mean and spread of their
dev and test scores, so that settings are compared over seeds, not on one run (a seed moves F1 by a point or two on
small data).

    dvc exp run --queue -S 'lr=1e-4,2e-4' -S 'seed=42,43,44' && dvc queue start
    nerflow seeds          # when they are done: a setting a row, best on dev first

It reads `dvc exp show --json` (the current commit and its experiments, or every commit's with --all-commits): runs
whose params are the same but for `seed` form one setting. The score is the one each task chooses by: NER's entity
F1, classification's accuracy (macro-F1 beside it). Runs without metrics (queued, failed) are counted, not used.
"""

import argparse
import json
import statistics
import subprocess
import sys

from nerflow.params import ParamsError, check_params
from nerflow.paths import EVAL_METRICS, EVALUATED, PARAMS_FILE

SEED = "seed"
IGNORED = {"data_workers"}  # shapes nothing: the same windows whatever its value


class SeedsError(Exception):
    pass


def runs_of(shown: list) -> tuple:
    """({"name", "params": {dotted key: value}, "scores": eval.json} of each finished run in `dvc exp show --json`'s
    output, the workspace left out (it repeats a commit or an applied experiment); the runs without metrics)."""
    found, unfinished = [], 0
    nodes = [(commit.get("name") or commit["rev"][:7], commit) for commit in shown if commit.get("rev") != "workspace"]
    for commit in shown:
        for experiment in commit.get("experiments") or []:
            nodes += [(rev.get("name") or rev["rev"][:7], rev) for rev in experiment.get("revs") or []]
    for name, node in nodes:
        data = node.get("data") or {}
        scores = ((data.get("metrics") or {}).get(EVAL_METRICS.as_posix()) or {}).get("data")
        if node.get("error") or not scores or not all(split in scores for split in EVALUATED):
            unfinished += 1
            continue
        given = ((data.get("params") or {}).get(PARAMS_FILE.as_posix()) or {}).get("data") or {}
        try:  # the schema's defaults for what params.yaml leaves out: `-S ++lr=2e-4` is the default's setting
            given = check_params(given)
        except ParamsError:  # a commit of another version of the schema: its params as written
            pass
        found.append({"name": name, "params": flat(given), "scores": scores})
    return found, unfinished


def flat(values: dict, prefix: str = "") -> dict:
    found = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            found.update(flat(value, f"{prefix}{key}."))
        else:
            found[prefix + key] = value
    return found


def score_names(scores: dict) -> tuple:
    """(the score a run is chosen by, a second one to show) of an eval.json: NER's F1, classification's accuracy."""
    return ("f1", None) if "f1" in scores["dev"] else ("accuracy", "macro_f1")


def settings(runs: list) -> list:
    """The runs grouped by their params but the seed: [{"params": the setting's params, "runs": [...] by seed}], in
    the order first met."""
    groups = {}
    for run in runs:
        key = json.dumps({k: v for k, v in run["params"].items() if k not in (SEED, *IGNORED)}, sort_keys=True,
                         default=str)
        group = groups.setdefault(key, {"params": run["params"], "runs": [], "repeated": []})
        seeds = [r["params"].get(SEED) for r in group["runs"]]
        # A seed run again (a commit that changed no param, an experiment without -S) is one run, not another seed.
        group["repeated" if run["params"].get(SEED) in seeds else "runs"].append(run)
    for group in groups.values():
        group["runs"].sort(key=lambda run: str(run["params"].get(SEED)).zfill(12))  # by seed, numbers in order
    return list(groups.values())


def summary(values: list) -> dict:
    """Mean, sample standard deviation (0 for one run), least and most, in %."""
    values = [100 * v for v in values]
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values)}


def table(groups: list, unfinished: int = 0) -> str:
    """Markdown: a row a setting, best dev mean first; the params columns are those that differ between settings."""
    if not groups:
        return "No finished experiment: run some first (`dvc exp run`), then nerflow seeds.\n"
    main, second = score_names(groups[0]["runs"][0]["scores"])
    keys = sorted({k for g in groups for k in g["params"]} - {SEED, *IGNORED})
    differing = [k for k in keys if len({json.dumps(g["params"].get(k), default=str) for g in groups}) > 1]
    rows = []
    for group in groups:
        stats = {split: summary([r["scores"][split][main] for r in group["runs"]]) for split in EVALUATED}
        extra = {split: summary([r["scores"][split][second] for r in group["runs"]]) for split in EVALUATED} \
            if second else {}
        rows.append((stats["dev"]["mean"], group, stats, extra))
    rows.sort(key=lambda row: -row[0])
    header = ["setting", *differing, "seeds"] + [f"{split} {main} mean ± sd (min–max)" for split in EVALUATED] \
        + ([f"{split} {second} mean" for split in EVALUATED] if second else [])
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for number, (_, group, stats, extra) in enumerate(rows, 1):
        seeds = ", ".join(str(r["params"].get(SEED)) for r in group["runs"])
        cells = [str(number), *(str(group["params"].get(k)) for k in differing), seeds]
        cells += [f"{s['mean']:.2f} ± {s['sd']:.2f} ({s['min']:.2f}–{s['max']:.2f})" for s in
                  (stats[split] for split in EVALUATED)]
        cells += [f"{extra[split]['mean']:.2f}" for split in EVALUATED] if second else []
        lines.append("| " + " | ".join(cells) + " |")
    names = "; ".join(f"{number}: " + ", ".join(r["name"] for r in group["runs"])
                      for number, (_, group, _, _) in enumerate(rows, 1))
    note = f"\n{unfinished} run(s) without metrics (queued or failed) left out." if unfinished else ""
    repeated = sum(len(group["repeated"]) for group in groups)
    note += f"\n{repeated} run(s) of a seed already counted (the same setting and seed again) left out." \
        if repeated else ""
    return ("\n".join(lines) + f"\n\nScores in %, over the seeds of each setting (sd: the sample standard deviation). "
            f"Choose on dev; test reports the one chosen. Runs: {names}.{note}\n")


def run(args) -> int:
    command = [sys.executable, "-m", "dvc", "exp", "show", "--json"] + (["--all-commits"] if args.all_commits else [])
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"nerflow seeds: error: `dvc exp show --json` failed:\n{result.stderr.strip()}\nRun it in the project "
              "folder.", file=sys.stderr)
        return 1
    runs, unfinished = runs_of(json.loads(result.stdout))
    sys.stdout.write(table(settings(runs), unfinished))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all-commits", action="store_true", help="every commit's experiments, not only the "
                        "current commit's")
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.set_defaults(run=run)
