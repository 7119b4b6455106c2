"""nerflow seeds: the experiments that share every param but the seed, as one setting with the mean and spread of its
scores, from `dvc exp show --json`'s output as DVC writes it."""

import copy

import pytest

from conftest import PARAMS
from nerflow.tools.seeds import runs_of, settings, table


def node(name, scores, **params):
    """A run as `dvc exp show --json` gives it: params.yaml as written, metrics/eval.json."""
    given = copy.deepcopy({"dataset": PARAMS["dataset"], **params})
    metrics = {"metrics/eval.json": {"data": {"dev": {"f1": scores[0]}, "test": {"f1": scores[1]}}}} if scores else {}
    return {"rev": f"{name}-rev", "name": name, "error": None, "experiments": None,
            "data": {"params": {"params.yaml": {"data": given}}, "metrics": metrics}}


def shown():
    baseline = node("main", (0.90, 0.86), lr=2e-4, seed=42)
    experiments = [node("a", (0.92, 0.88), lr=2e-4, seed=43),  # the default lr, set
                   node("b", (0.91, 0.87), seed=44),  # the default lr, left out
                   node("c", (0.80, 0.76), lr=1e-3, seed=42), node("d", (0.84, 0.78), lr=1e-3, seed=43),
                   node("queued", None, lr=1e-3, seed=44)]
    baseline["experiments"] = [{"revs": [e], "name": e["name"], "executor": None} for e in experiments]
    workspace = node("workspace", (0.90, 0.86), lr=2e-4, seed=42) | {"rev": "workspace", "name": None}
    return [workspace, baseline]


def test_runs_sharing_every_param_but_the_seed_are_one_setting():
    runs, unfinished = runs_of(shown())
    assert [r["name"] for r in runs] == ["main", "a", "b", "c", "d"] and unfinished == 1  # no workspace, no queued
    groups = settings(runs)
    assert [[r["name"] for r in g["runs"]] for g in groups] == [["main", "a", "b"], ["c", "d"]]
    text = table(groups, unfinished)
    lines = text.splitlines()
    assert lines[0] == "| setting | lr | seeds | dev f1 mean ± sd (min–max) | test f1 mean ± sd (min–max) |"
    assert lines[2] == "| 1 | 0.0002 | 42, 43, 44 | 91.00 ± 1.00 (90.00–92.00) | 87.00 ± 1.00 (86.00–88.00) |"
    assert lines[3] == "| 2 | 0.001 | 42, 43 | 82.00 ± 2.83 (80.00–84.00) | 77.00 ± 1.41 (76.00–78.00) |"
    assert "1 run(s) without metrics" in text and "Runs: 1: main, a, b; 2: c, d." in text


def test_classification_is_compared_on_accuracy_with_macro_f1_beside_it():
    run = node("main", None, task="classification", seed=1)
    run["data"]["metrics"] = {"metrics/eval.json": {"data": {split: {"accuracy": 0.8, "macro_f1": 0.7}
                                                             for split in ("dev", "test")}}}
    runs, _ = runs_of([run])
    header = table(settings(runs)).splitlines()[0]
    assert header == "| setting | seeds | dev accuracy mean ± sd (min–max) | test accuracy mean ± sd (min–max) | " \
                     "dev macro_f1 mean | test macro_f1 mean |"


def test_a_seed_run_again_is_counted_once():
    commits = shown()
    again = node("main-again", (0.90, 0.86), lr=2e-4, seed=42)  # a later commit that changed no param
    runs, _ = runs_of([*commits, again])
    groups = settings(runs)
    assert [r["name"] for r in groups[0]["runs"]] == ["main", "a", "b"] and len(groups[0]["repeated"]) == 1
    assert "1 run(s) of a seed already counted" in table(groups)
