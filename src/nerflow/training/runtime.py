"""Where a stage process runs: torch's CPU threads, the device and its numerics, and several training processes.

Threads: torch starts one thread per core. Two trainings on one machine (`dvc queue start -j 2`), or one training next to
other busy work, then ask for more threads than there are cores, and they wait on each other: on a 2-core machine
a training step went from 0.4 s to 6-8 s while another process kept one core busy. Each process should use its
share of the cores: `threads` in params.yaml, or OMP_NUM_THREADS in the environment (`OMP_NUM_THREADS=1 dvc queue
start -j 2`), which queued experiments inherit.
"""

import contextlib
import os
import re
import sys

import torch


def thread_count(params: dict):
    """The threads to use: params `threads`, else OMP_NUM_THREADS, else None (torch's default, one per core)."""
    value, source, default = params.get("threads"), "params.yaml threads", "null"
    if value is None:
        value, source, default = os.environ.get("OMP_NUM_THREADS") or None, "OMP_NUM_THREADS", "unset"
        if value is None:
            return None
    if isinstance(value, bool) or not re.fullmatch(r"\s*[0-9]+\s*", str(value)) or int(value) < 1:
        raise ValueError(f"{source} is {value!r}; expected a whole number of threads, at least 1 "
                         f"({default}: torch's default, one per core)")
    return int(value)


def set_threads(params: dict):
    """Limit torch's intra-op and inter-op threads to thread_count(params); return it (None: left as torch's).

    Call it at the start of a stage's main(), before torch runs anything: torch fixes its inter-op thread pool
    when it is first used.
    """
    count = thread_count(params)
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


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


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
    processes = int(params.get("processes") or 1)
    nodes = os.environ.get("PET_NNODES", "1")
    if "LOCAL_RANK" in os.environ or (processes == 1 and nodes == "1"):
        return
    standalone = ["--standalone"] if nodes == "1" else []
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", *standalone,
                              f"--nproc-per-node={processes}", "-m", module])
