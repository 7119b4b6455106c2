"""`nerflow report --rev REV`: what the workspace changes against a git revision, as markdown for a pull request
or a CI job summary: `dvc params diff`, F1 by entity type (or by class), and `dvc metrics diff`.

Everything it reads is in git (params.yaml, and the metrics JSON, which dvc.yaml keeps out of the DVC cache), so it
needs no `dvc pull`: a CI job can run it on a bare checkout, given REV's commits (fetch-depth 0 on GitHub).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from nerflow.paths import EVAL_METRICS, EVALUATED

EVAL = EVAL_METRICS.as_posix()


class ReportError(Exception):
    pass


def command(args: list, name: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReportError(f"`{name}` failed:\n{result.stderr.strip()}\nRun nerflow report in the project folder.")
    return result.stdout


def dvc_diff(kind: str, rev: str) -> str:
    """`dvc params diff REV --md` or `dvc metrics diff REV --md`: only what changed."""
    table = command([sys.executable, "-m", "dvc", kind, "diff", rev, "--md"], f"dvc {kind} diff {rev} --md").strip()
    return table or f"No {kind} changed."


def eval_at(rev: str):
    """metrics/eval.json as committed at `rev`; None where it was not (before the first run)."""
    known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], capture_output=True)
    if known.returncode != 0:
        raise ReportError(f"git knows no revision {rev!r}: check the name, and fetch it first in a shallow clone "
                          "(GitHub Actions: actions/checkout with fetch-depth: 0)")
    shown = subprocess.run(["git", "show", f"{rev}:./{EVAL}"], capture_output=True, text=True)
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def per_label(scores, split: str) -> dict:
    """The per-label scores of one split of an eval.json: per entity type (NER) or per class ({} where none)."""
    found = (scores or {}).get(split) or {}
    return found.get("per_type") or found.get("per_class") or {}


def f1_by_type(scores, split: str) -> dict:
    """{type or class: F1 in %} of one split of an eval.json ({} where there is none)."""
    return {name: 100 * s["f1"] for name, s in per_label(scores, split).items()}


def per_type_table(now: dict, before, rev: str) -> str:
    """Entity F1 (%) by type for dev and test, here and at `rev`, with the change; "–" where a side has none."""
    here = {split: f1_by_type(now, split) for split in EVALUATED}
    there = {split: f1_by_type(before, split) for split in EVALUATED}
    types = sorted({name for side in (here, there) for split in EVALUATED for name in side[split]})
    support = {name: s["support"] for name, s in per_label(now, "test").items()}
    lines = ["| type | " + " | ".join(f"{split} F1 | at {rev} | change" for split in EVALUATED) + " | test support |",
             "|---" + "|---:" * (3 * len(EVALUATED) + 1) + "|"]
    for name in types:
        cells = []
        for split in EVALUATED:
            new, old = here[split].get(name), there[split].get(name)
            cells += ["–" if new is None else f"{new:.2f}", "–" if old is None else f"{old:.2f}",
                      "–" if new is None or old is None else f"{new - old:+.2f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {support.get(name, '–')} |")
    return "\n".join(lines)


def render(rev: str) -> str:
    if not Path(EVAL).is_file():
        raise ReportError(f"{EVAL} not found: run nerflow report in the project folder, after `dvc repro`")
    now = json.loads(Path(EVAL).read_text())
    before = eval_at(rev)
    missing = "" if before else f"{EVAL} is not in `{rev}`: nothing to compare with.\n\n"
    return "\n".join([
        f"# nerflow: this revision against `{rev}`",
        "",
        "## Params",
        "",
        dvc_diff("params", rev),
        "",
        f"## F1 by entity type or class (%, {EVAL})",
        "",
        missing + per_type_table(now, before, rev),
        "",
        "## Metrics that changed",
        "",
        dvc_diff("metrics", rev),
        "",
    ])


def run(args) -> int:
    try:
        text = render(args.rev)
    except ReportError as error:
        print(f"nerflow report: error: {error}", file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rev", required=True, metavar="REV",
                        help="the git revision to compare with, e.g. origin/main or HEAD~1")
    parser.add_argument("--output", metavar="PATH", help="write the markdown to PATH instead of stdout")
    parser.description = ("Markdown report of params and metrics changed against REV, and entity F1 by type. "
                          "Reads git only: no dvc pull needed.")
    parser.set_defaults(run=run)
