"""Where a stage process runs: its threads (params `threads`, else OMP_NUM_THREADS, else torch's default, or its share
of the cores where it shares the GPUs) and its GPU (one of its own while one is free, then shared evenly)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nerflow.training.runtime import claim_gpu, set_threads, thread_count

SRC = Path(__file__).resolve().parents[1] / "src"


def test_thread_count_param_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert thread_count({"threads": None}) is None and thread_count({}) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_count({"threads": None}) == 3
    assert thread_count({"threads": 2}) == 2  # params win: an experiment's own setting


@pytest.mark.parametrize("env", ["two", "0", "1.5"])
def test_thread_count_refuses_an_environment_that_is_not_a_count(monkeypatch, env):
    monkeypatch.setenv("OMP_NUM_THREADS", env)  # params' threads is checked by params.yaml's schema
    with pytest.raises(ValueError, match=f"OMP_NUM_THREADS is '{env}'.*unset: torch's default"):
        thread_count({"threads": None})


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


def holders(tmp_path, count: int, processes: int) -> list:
    """Start `processes` processes that each claim a GPU of `count` (a faked count: no GPU needed) and hold it;
    their (gpu, holders seen) in start order, and the processes."""
    code = ("import sys, time; from pathlib import Path; from nerflow.training.runtime import claim_gpu; "
            "print(*claim_gpu(int(sys.argv[1]), Path(sys.argv[2])), flush=True); time.sleep(120)")
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "LOCAL_RANK")}
    started = []
    for _ in range(processes):
        process = subprocess.Popen([sys.executable, "-c", code, str(count), str(tmp_path)], env=env, text=True,
                                   stdout=subprocess.PIPE)
        started.append((tuple(int(x) for x in process.stdout.readline().split()), process))
    return started


def test_experiments_take_a_gpu_each_then_share_them_evenly(tmp_path):
    started = holders(tmp_path / "four", count=4, processes=6)
    try:
        assert [claim for claim, _ in started] == [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (1, 6)]
        started[1][1].kill()  # a killed process frees its GPU for the next one
        started[1][1].wait()
        again = holders(tmp_path / "four", count=4, processes=1)
        started += again
        assert again[0][0] == (1, 6)
    finally:
        for _, process in started:
            process.kill()


def test_a_gpu_chosen_already_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert claim_gpu(8, tmp_path) == (None, 0)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("LOCAL_RANK", "1")  # torchrun's processes use their rank's GPU
    assert claim_gpu(8, tmp_path) == (None, 0)
    monkeypatch.delenv("LOCAL_RANK")
    assert claim_gpu(0, tmp_path) == (None, 0)  # no GPU: nothing to claim
    assert not list(tmp_path.iterdir())


def test_a_process_sharing_the_gpus_takes_its_share_of_the_cores(monkeypatch):
    calls = []
    monkeypatch.setattr("torch.set_num_threads", calls.append)
    monkeypatch.setattr("torch.get_num_interop_threads", lambda: calls[-1])
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert set_threads({"threads": None}, share=8) == 2 and calls == [2]
    assert set_threads({"threads": 3}, share=8) == 3  # a count given is kept
    assert set_threads({"threads": None}, share=1) is None  # alone: torch's default


def test_the_train_log_names_the_gpu_or_the_cpu_threads(monkeypatch):
    import torch

    from nerflow.training.runtime import device_words

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"NVIDIA H100 80GB HBM3 #{index}")
    assert device_words(torch.device("cuda", 1), bf16=True) == \
        "GPU NVIDIA H100 80GB HBM3 #1 (cuda:1), bf16 autocast, TF32 matmuls"
    assert device_words(torch.device("cpu"), bf16=False, processes=2) == \
        f"CPU, {torch.get_num_threads()} threads, fp32, 2 processes"
