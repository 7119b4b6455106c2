"""Where a stage process runs: torch's CPU threads, its GPU, the device's numerics, and several training processes.

Threads: torch starts one thread per core. Two trainings on one machine (`dvc queue start -j 2`), or one training next to
other busy work, then ask for more threads than there are cores, and they wait on each other: on a 2-core machine
a training step went from 0.4 s to 6-8 s while another process kept one core busy. Each process should use its
share of the cores: `threads` in params.yaml, or OMP_NUM_THREADS in the environment (`OMP_NUM_THREADS=1 dvc queue
start -j 2`), which queued experiments inherit. On a GPU machine a process that shares the machine's GPUs with
other stage processes takes its share by itself (place_process).

GPUs: experiments run at once (`dvc queue start -j N`) each take a GPU of their own while one is free, then share
them evenly (claim_gpu), without CUDA_VISIBLE_DEVICES set by hand.
"""

import contextlib
import fcntl
import itertools
import os
import re
import sys
import tempfile
from pathlib import Path

import torch

GPU_SLOTS = Path(tempfile.gettempdir()) / "nerflow-gpus"  # machine-wide: a lock file per GPU and slot
_held = []  # the slot this process holds: its lock is released when the process ends, however it ends


def thread_count(params: dict):
    """The threads to use: params `threads` (checked by nerflow.params), else OMP_NUM_THREADS, else None (torch's
    default, one per core)."""
    if params.get("threads") is not None:
        return params["threads"]
    value = os.environ.get("OMP_NUM_THREADS") or None
    if value is not None and (not re.fullmatch(r"\s*[0-9]+\s*", value) or int(value) < 1):
        raise ValueError(f"OMP_NUM_THREADS is {value!r}; expected a whole number of threads, at least 1 (unset: "
                         "torch's default, one per core)")
    return None if value is None else int(value)


def set_threads(params: dict, share: int = 1):
    """Limit torch's intra-op and inter-op threads to thread_count(params), or, where neither params nor the
    environment says and `share` processes use the machine's GPUs, to their share of the cores; return it (None:
    left as torch's, one per core).

    Call it at the start of a stage's main(), before torch runs anything: torch fixes its inter-op thread pool
    when it is first used.
    """
    count = thread_count(params)
    if count is None and share > 1:
        count = max(1, (os.cpu_count() or 1) // share)
    if count is None:
        return None
    torch.set_num_threads(count)
    if torch.get_num_interop_threads() != count:
        try:
            torch.set_num_interop_threads(count)
        except RuntimeError:
            raise RuntimeError(f"cannot set torch's inter-op threads to {count}: torch has already used them. "
                               "Call nerflow.training.runtime.set_threads at the start of main(), before any torch work") from None
    return count


def claim_gpu(count: int = None, slots: Path = GPU_SLOTS) -> tuple:
    """(GPU index, processes holding a GPU slot now, this one included) for this process: the first GPU with a
    free slot, slot 0 of every GPU before slot 1 of any, so that N processes on G GPUs take one each while N <= G
    and then share them evenly. A slot is a lock file held until the process ends (a killed process frees its
    slot). (None, 0) where there is nothing to choose: no GPU, or the choice made already (CUDA_VISIBLE_DEVICES
    set, or a process of a torchrun launch, which uses LOCAL_RANK's GPU). `count`: the GPUs (default: torch's)."""
    if "LOCAL_RANK" in os.environ or os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return None, 0
    count = torch.cuda.device_count() if count is None else count
    if count < 1:
        return None, 0
    slots.mkdir(parents=True, exist_ok=True)
    for slot in itertools.count():
        for gpu in range(count):
            lock = open(slots / f"gpu{gpu}.slot{slot}.lock", "a+")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            _held.append(lock)
            return gpu, held_slots(slots)


def held_slots(slots: Path = GPU_SLOTS) -> int:
    """How many slots processes hold now (this process's included)."""
    held = 0
    for path in slots.glob("gpu*.slot*.lock"):
        if any(Path(lock.name) == path for lock in _held):
            held += 1
            continue
        with open(path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(lock, fcntl.LOCK_UN)
            except BlockingIOError:
                held += 1
    return held


def place_process(params: dict):
    """A stage process's device and threads: its GPU (claim_gpu) made the current CUDA device, and its share of
    the CPU threads (set_threads). Call it at the start of main(), before torch runs anything."""
    gpu, share = claim_gpu()
    if gpu is not None:
        torch.cuda.set_device(gpu)
    return set_threads(params, share)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_words(device: torch.device, bf16: bool, processes: int = 1) -> str:
    """Where a training runs, for its log: the GPU's name or the CPU threads, and its numerics."""
    many = f", {processes} processes" if processes > 1 else ""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return (f"GPU {torch.cuda.get_device_name(index)} (cuda:{index}), "
                f"{'bf16 autocast' if bf16 else 'fp32'}, TF32 matmuls{many}")
    return f"CPU, {torch.get_num_threads()} threads, fp32{many}"


def use_fast_attention_kernels() -> None:
    """Keep PyTorch's attention off its cuDNN kernel, which builds a plan for every new batch shape: on an H100
    a training step at a width not seen before took 251 ms with it and 47 ms with the flash/memory-efficient
    kernels (BENCHMARKS.md)."""
    if torch.cuda.is_available():
        torch.backends.cuda.enable_cudnn_sdp(False)


def autocast_for(device: torch.device, bf16: bool = None):
    """bf16 autocast, by default on a CUDA device that has it; fp32 elsewhere (CPU runs stay bit-reproducible)."""
    if bf16 is None:
        bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)  # no cache: graph-capture safe


def relaunch(params: dict, module: str) -> None:
    """Run `module` (this stage) again under torchrun when it should be several processes and is not yet: `processes` per
    machine, and the machines that torchrun's PET_NNODES, PET_NODE_RANK, PET_MASTER_ADDR and PET_MASTER_PORT
    name (README "Team and scale"). One machine uses --standalone: a free port, so runs side by side don't meet."""
    processes = params["processes"]
    nodes = os.environ.get("PET_NNODES", "1")
    if "LOCAL_RANK" in os.environ or (processes == 1 and nodes == "1"):
        return
    standalone = ["--standalone"] if nodes == "1" else []
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", *standalone,
                              f"--nproc-per-node={processes}", "-m", module])
