"""Several training processes (torchrun, gloo on the CPU) and runs that survive being killed."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from transformers import AutoModelForTokenClassification
import yaml

from conftest import FIXTURES, dvc, make_project

from nerflow.training.loop import fit
from nerflow.training.models import load_base_model
from nerflow.params import load_params

WORKERS = Path(__file__).parent / "workers"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_each_window_goes_to_exactly_one_process_each_epoch(tmp_path, tiny_model_dir):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                             str(WORKERS / "shards.py"), str(tmp_path), str(tiny_model_dir)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(rank["processes"] == 2 for rank in ranks)
    for epoch in range(2):
        seen = [rank["seen"][epoch] for rank in ranks]
        assert seen[0] and seen[1]  # both processes train
        assert sorted(seen[0] + seen[1]) == list(range(61))  # every window once, none twice
    assert ranks[0]["seen"][0] != ranks[0]["seen"][1]  # a new order each epoch
    # Each process reads from the stored windows only those of its own batches.
    assert all(rank["read"] == sorted(set(rank["seen"][0] + rank["seen"][1])) for rank in ranks)
    assert len(ranks[0]["read"]) < 61 and len(ranks[1]["read"]) < 61
    # An odd number of batches: one process steps once more per epoch, and training still finishes (no hang).
    assert ranks[0]["batches"] % 2 == 1
    assert sorted(rank["steps"] for rank in ranks) == [ranks[0]["batches"] - 1, ranks[0]["batches"] + 1]
    assert all(rank["epochs"] == 2 for rank in ranks)


def set_params(repo: Path, **values):
    params = load_params(repo / "params.yaml")
    params.update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def two_process_project(tmp_path_factory, tiny_model_dir):
    repo = tmp_path_factory.mktemp("ddp")
    env = make_project(repo, FIXTURES / "tiny", tiny_model_dir,
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
    set_params(repo, processes=2)
    out = dvc("repro", cwd=repo, env=env).stdout
    return repo, env, out


@pytest.mark.slow
def test_dvc_repro_with_two_processes_writes_each_output_once(two_process_project):
    repo, _, out = two_process_project
    assert out.count("kept epoch") == 1  # the main process alone writes and reports
    metrics = json.loads((repo / "metrics/eval.json").read_text())
    assert metrics["dev"]["words"] > 0
    dev_f1 = (repo / "metrics/train/plots/metrics/train/dev_score.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in dev_f1] == ["step", "1", "2"]  # one dev F1 per epoch, not per process
    assert (repo / "models/finetuned/model.safetensors").is_file()
    assert not (repo / "checkpoints/train/last.pt").exists()  # removed once the stage completed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_on_one_machine_train_and_finish(two_process_project):
    """torchrun's rendezvous through PET_* variables, as on two machines: node 0 and node 1 on 127.0.0.1."""
    repo, env, _ = two_process_project
    set_params(repo, processes=1)
    node = dict(env, PET_NNODES="2", PET_MASTER_ADDR="127.0.0.1", PET_MASTER_PORT=str(free_port()))
    before = (repo / "models/finetuned/model.safetensors").stat().st_mtime_ns
    nodes = [subprocess.Popen([sys.executable, "-m", "nerflow.stages.train"], cwd=repo, env=dict(node, PET_NODE_RANK=str(rank)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for rank in (0, 1)]
    outputs = [p.communicate(timeout=300)[0] for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], outputs
    assert sum(o.count("kept epoch") for o in outputs) == 1
    assert (repo / "models/finetuned/model.safetensors").stat().st_mtime_ns > before


def train_process(repo: Path):
    for process in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if process.info["cmdline"][-2:] == ["-m", "nerflow.stages.train"] and process.info["cwd"] == str(repo):
                return process
        except (TypeError, psutil.Error):
            continue
    return None


@pytest.mark.slow
def test_killed_training_resumes_to_the_same_weights_and_metrics(tmp_path_factory, tiny_model_dir):
    outputs = ("metrics/eval.json", "metrics/train/metrics.json", "metrics/train/plots/metrics/train/loss.tsv",
               "metrics/train/plots/metrics/train/dev_score.tsv", "models/finetuned/model.safetensors")
    runs = {}
    for name in ("whole", "killed"):
        repo = tmp_path_factory.mktemp(name)
        env = make_project(repo, FIXTURES / "tiny", tiny_model_dir,
                           files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
        set_params(repo, epochs=8, patience=None, batch_size=1)
        if name == "killed":
            dvc("repro", "tokenize", cwd=repo, env=env)
            stage = subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=repo, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            checkpoint, deadline = repo / "checkpoints/train/last.pt", time.time() + 300
            while not checkpoint.exists() and time.time() < deadline:
                time.sleep(0.02)
            train_process(repo).send_signal(signal.SIGKILL)  # as the OOM killer or a preempted machine would
            stage.communicate(timeout=60)
            assert stage.returncode != 0
            epoch = torch.load(checkpoint, weights_only=True)["state"]["epoch"]  # tensors and plain values only
            assert 1 <= epoch < 8 and not (repo / "models/finetuned").exists()
            out = dvc("repro", cwd=repo, env=env).stdout
            assert f"resuming from checkpoints/train/last.pt after epoch {epoch}" in out
        else:
            dvc("repro", cwd=repo, env=env)
        runs[name] = {path: (repo / path).read_bytes() for path in outputs}
    for path in outputs:
        assert runs["killed"][path] == runs["whole"][path], path


def test_a_checkpoint_of_other_params_is_not_resumed(tiny_model_dir, tmp_path, capsys):
    params = {**load_params(ROOT / "params.yaml"), "epochs": 1, "min_steps": 0, "batch_size": 4}
    windows = [{"input_ids": [5 + i % 9] * 6, "labels": [i % 3] * 6} for i in range(20)]
    checkpoint = tmp_path / "last.pt"
    for fingerprint in ("params A", "params B"):
        model = load_base_model(params, ["O", "B-X", "I-X"], tiny_model_dir, AutoModelForTokenClassification)
        fit(model, windows, params, 0, lambda m: (0.5, 1.0), checkpoint=checkpoint, fingerprint=fingerprint,
            progress=False)
    assert "written with other params or data; not resuming" in capsys.readouterr().out


class Payload:
    """An object a pickle would build (and whose __reduce__ could run anything): a checkpoint must not hold one."""

    def __reduce__(self):
        return (print, ("unpickled: code ran",))


def test_a_checkpoint_holding_objects_is_refused_unread(tiny_model_dir, tmp_path, capsys):
    params = {**load_params(ROOT / "params.yaml"), "epochs": 1, "min_steps": 0, "batch_size": 4}
    windows = [{"input_ids": [5 + i % 9] * 6, "labels": [i % 3] * 6} for i in range(20)]
    checkpoint = tmp_path / "last.pt"
    model = load_base_model(params, ["O", "B-X", "I-X"], tiny_model_dir, AutoModelForTokenClassification)
    fit(model, windows, params, 0, lambda m: (0.5, 1.0), checkpoint=checkpoint, fingerprint="run", progress=False)
    saved = torch.load(checkpoint, weights_only=True)  # what fit writes reads back with the restricted unpickler
    torch.save({**saved, "extra": Payload()}, checkpoint)
    model = load_base_model(params, ["O", "B-X", "I-X"], tiny_model_dir, AutoModelForTokenClassification)
    state = fit(model, windows, params, 0, lambda m: (0.5, 1.0), checkpoint=checkpoint, fingerprint="run",
                progress=False)
    out = capsys.readouterr().out
    assert "is not a checkpoint this version reads" in out and "unpickled: code ran" not in out
    assert state.epoch == 1 and state.step > 0  # trained from the start
