"""The GitHub Actions workflow: on pushes and pull requests it runs .ci/run; on pull requests, nerflow report."""

import shlex
from pathlib import Path

import yaml

from nerflow.tools import cli, report

ROOT = Path(__file__).resolve().parents[1]


def steps() -> tuple:
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    [job] = workflow["jobs"].values()
    return triggers, job["steps"]


def test_workflow_runs_ci_on_pushes_and_pull_requests():
    triggers, job_steps = steps()
    assert {"push", "pull_request"} <= set(triggers)
    assert [s["run"] for s in job_steps if "run" in s][0] == "bash .ci/run"
    assert (ROOT / ".ci/run").is_file()


def test_workflow_reports_pull_requests_against_their_base_into_the_job_summary():
    _, job_steps = steps()
    checkout = next(s for s in job_steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # nerflow report needs the base branch's commits
    [step] = [s for s in job_steps if "nerflow report" in s.get("run", "")]
    assert step["if"] == "github.event_name == 'pull_request'" and step["env"]["BASE"] == "${{ github.base_ref }}"
    command, summary = step["run"].strip().splitlines()
    words = shlex.split(command)
    assert words[0] == ".venv/bin/nerflow"  # the entry point that scripts/install.sh installs into .ci/run's venv
    args = cli.parser().parse_args(words[1:])  # the real command line accepts it
    assert args.run is report.run and args.rev == "origin/$BASE"
    assert summary == f'cat {args.output} >> "$GITHUB_STEP_SUMMARY"'
