"""How training steps run on a device (Engine), and the captured step of one GPU.

On a GPU the step must be one fixed shape, captured once as a CUDA graph and replayed (BENCHMARKS.md: eager
steps of a bert-base were bound near 40-50 ms by kernel launches whatever their size; the Trainer has no hook for
a captured step, hence nerflow's own loop). Batches are packed into one shape (nerflow.training.batching), and the
whole step (forward, backward, clipping, fused AdamW with the learning rate in a device tensor) is captured after
a few eager steps and replayed; the loss is summed on the device and read every few steps. bf16 autocast, TF32.
"""

from dataclasses import dataclass

import numpy as np
import torch

from nerflow.training.batching import model_inputs, pack_rows, round_up

WARMUP_STEPS = 3  # eager steps before the capture (lazy initialisation: cuBLAS handles, optimizer state)


def packed_shape(lengths, batches: list, row_width: int = None) -> dict:
    """The one shape every batch (of windows of `lengths`) is packed into: one row wide enough for the largest
    batch (rounded up to 64 for the matrix units), or rows of `row_width`, as many as the fullest batch needs."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if row_width is None:
        return {"rows": 1, "width": round_up(int(max(lengths[b].sum() for b in batches)), 64)}
    width = max(row_width, round_up(int(lengths.max()), 64))
    rows = max(1 + max(r for r, _ in pack_rows(lengths[b].tolist(), width)) for b in batches)
    return {"rows": rows, "width": width}


@dataclass(frozen=True)
class Engine:
    """How steps run: packed (one fixed shape), captured (a CUDA graph), bf16 autocast."""

    packed: bool = False
    capture: bool = False
    bf16: bool = False
    row_width: int = None  # packed rows this wide (or the longest window); None: one row holds a whole batch


def engine_for(device: torch.device, processes: int, packable: bool = True) -> Engine:
    """The fastest measured way on this device (BENCHMARKS.md): captured fixed-shape steps in rows of 256, bf16,
    on one CUDA device (3 epochs of a bert-base: H100 11.2 s, against 13.6 s in fp32 and 12.5 s with regionally
    compiled blocks, a path since removed; H200 10.3 s, against 11.3-11.6 s in one row per batch, 10.6 s in rows
    of 128); eager
    padded steps on the CPU, or on several processes (DDP's gradient hooks are not captured here), or for windows
    labelled as a whole (`packable` False: a classifier reads each window's first token, which packing moves)."""
    one_gpu = device.type == "cuda" and processes == 1 and packable
    return Engine(packed=one_gpu, capture=one_gpu, bf16=device.type == "cuda" and torch.cuda.is_bf16_supported(),
                  row_width=256 if one_gpu else None)


class CapturedStep:
    """The training step as one CUDA graph over static input buffers (PyTorch's whole-network capture recipe).

    The first WARMUP_STEPS calls run eagerly on a side stream, then the step is captured once and replayed. The
    learning rate lives in a device tensor that the graph reads (`set_lr` writes it between replays).
    """

    def __init__(self, model, optimizer, max_grad_norm: float, loss_sum: torch.Tensor, autocast):
        self.model, self.optimizer, self.max_grad_norm, self.loss_sum = model, optimizer, max_grad_norm, loss_sum
        self.autocast = autocast
        self.lr = torch.tensor(optimizer.param_groups[0]["lr"], device=loss_sum.device)
        self.static, self.graph, self.calls = None, None, 0

    def set_lr(self, lr: float):
        self.lr.fill_(lr)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr  # a scheduler may have put a float there

    def step(self):
        with self.autocast():
            loss = self.model(**model_inputs(self.static), labels=self.static["labels"]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.loss_sum += loss.detach()

    def __call__(self, batch: dict):
        if self.static is None:
            self.static = {k: v.clone() for k, v in batch.items() if k != "placement"}
        for k, v in self.static.items():
            v.copy_(batch[k], non_blocking=True)
        self.calls += 1
        if self.graph is None and self.calls <= WARMUP_STEPS:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.step()
                self.optimizer.zero_grad(set_to_none=True)
            torch.cuda.current_stream().wait_stream(side)
            return
        if self.graph is None:
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):  # records, does not run: replayed just below
                self.step()
        self.graph.replay()
