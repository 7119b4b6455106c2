"""Threads per process: params `threads`, else OMP_NUM_THREADS, else torch's default."""

import subprocess
import sys
from pathlib import Path

import pytest

from nerflow.training.runtime import thread_count

SRC = Path(__file__).resolve().parents[1] / "src"


def test_thread_count_param_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert thread_count({"threads": None}) is None and thread_count({}) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_count({"threads": None}) == 3
    assert thread_count({"threads": 2}) == 2  # params win: an experiment's own setting


@pytest.mark.parametrize("threads, env, match", [
    (0, None, "params.yaml threads is 0; expected a whole number"),
    (1.5, None, "params.yaml threads is 1.5"),
    (True, None, "params.yaml threads is True"),
    (None, "two", "OMP_NUM_THREADS is 'two'.*unset: torch's default"),
])
def test_thread_count_refuses_what_is_not_a_count(monkeypatch, threads, env, match):
    monkeypatch.setenv("OMP_NUM_THREADS", env) if env else monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with pytest.raises(ValueError, match=match):
        thread_count({"threads": threads})


def in_fresh_process(code: str, **env) -> subprocess.CompletedProcess:
    """torch fixes its inter-op pool once per process: each case gets its own."""
    environment = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", **env}
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)


def test_set_threads_limits_intra_and_inter_op_threads():
    code = ("import torch; from nerflow.training.runtime import set_threads; "
            "print(set_threads({'threads': 1}), torch.get_num_threads(), torch.get_num_interop_threads())")
    result = in_fresh_process(code)
    assert result.stdout.split() == ["1", "1", "1"], result.stderr
    # OMP_NUM_THREADS alone: torch reads it for intra-op threads, set_threads extends it to inter-op threads.
    result = in_fresh_process(code.replace("{'threads': 1}", "{'threads': None}"), OMP_NUM_THREADS="1")
    assert result.stdout.split() == ["1", "1", "1"], result.stderr


def test_set_threads_once_the_inter_op_pool_is_fixed_says_where_to_call_it():
    code = ("from nerflow.training.runtime import set_threads; set_threads({'threads': 1}); set_threads({'threads': 2})")
    result = in_fresh_process(code)
    assert result.returncode != 0 and "Call nerflow.training.runtime.set_threads at the start of main()" in result.stderr
