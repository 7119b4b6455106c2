"""Every stage and script answers --help with what it reads and writes, and exits: it neither runs nor writes."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # a process a stage or script, most of them importing torch: seconds each

ROOT = Path(__file__).resolve().parents[1]
STAGES = list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])
SCRIPTS = sorted(str(p.relative_to(ROOT)) for pattern in ("scripts/*.py", "scripts/*.sh", "benchmarks/*.py", "examples/*.py")
                 for p in ROOT.glob(pattern)) + ["run.sh"]


def status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                          text=True).stdout


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_says_what_it_reads_and_writes_and_does_nothing(tmp_path, stage):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", f"nerflow.stages.{stage}", "--help"], cwd=tmp_path, text=True,
                            capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0 and result.stdout.startswith(f"usage: python -m nerflow.stages.{stage}")
    assert list(tmp_path.iterdir()) == [] and time.perf_counter() - start < 20  # nothing written, nothing run
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]
    reads = [line for line in result.stdout.splitlines() if line.startswith("Reads:")]
    writes = [line for line in result.stdout.splitlines() if line.startswith("Writes:")]
    # What it says it reads and writes is what dvc.yaml names (its params, through params.yaml).
    assert reads[0].split(":", 1)[1].strip().split(", ") == ["params.yaml"] + [
        dep for dep in spec["deps"] if not dep.startswith(("src/", "data/params/", "params.yaml"))]
    assert writes[0].split(":", 1)[1].strip().split(", ") == [next(iter(o)) if isinstance(o, dict) else o
                                                             for o in spec["outs"]]


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_answers_help_and_exits(script):
    before = status()
    command = ["bash", script] if script.endswith(".sh") else [sys.executable, script]
    result = subprocess.run(command + ["--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) >= 2 and "Traceback" not in result.stderr
    assert status() == before  # it wrote nothing
