"""Which windows go into a batch, and how a batch is laid out as tensors: the one batch builder of training,
evaluation, prediction and the benchmark.

Which windows: training batches hold windows of similar length and about the same number of tokens. Why not
transformers' length-grouped sampler: its batches have a fixed number of windows, so a step on 32 short windows
counts as much as a step on 32 long ones, and short windows' tokens weigh several times more in the loss.
Measured (BENCHMARKS.md, 2,000 train windows, 2 epochs, MiniLM): dev entity F1 78.2 with it against 80.3 with
random batches; and one batch of 32 windows of 128 pieces takes 2.4 GB on the CPU. Here, as in fairseq's
batch_by_size, windows are sorted by length (ties in random order) and cut into batches of at most
`batch_size x mean window length` padded tokens; the batches are fixed once and their order is reshuffled
every epoch. An epoch has about as many steps as with `batch_size` windows a batch.

Layout (`collate`):
- padded: one window a row, padded to the batch's longest window (or a given width). Least arithmetic: the
  fastest on a CPU (BENCHMARKS.md).
- packed: windows laid end to end in rows of a fixed width, each window attending only to itself (a
  block-diagonal mask built from `segments`), positions restarting at each window. Every batch then has the
  same shape, which is what lets a GPU replay one captured step (CUDA graph) for the whole run, and lets a
  prediction run use one shape. The tail of a row is padding labelled IGNORE that forms a segment of its
  own, so no query row is fully masked (that would give NaN in attention and in the gradients).
"""

import random

import numpy as np
import torch
from torch.utils.data import Sampler

from nerflow.training import IGNORE



def token_budget_batches(lengths, batch_size: int, seed: int, tokens_per_example: float = None) -> list:
    """Batches of window indices (int64 arrays); each batch's longest window x its size stays within the token
    budget, batch_size x tokens_per_example (default: the mean window length; the train stage gives the mean
    tokens per sentence, so that windows holding several sentences of a document make batches of about the same
    tokens). Planned from the lengths alone: no window is read."""
    lengths = np.asarray(lengths, dtype=np.int64)
    budget = batch_size * (tokens_per_example or lengths.sum() / len(lengths))
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)  # Python's shuffle: the batches of every seed stay as they were
    order = np.asarray(order, dtype=np.int64)
    order = order[np.argsort(lengths[order], kind="stable")]  # stable: windows of one length stay in random order
    cuts, size, ordered = [], 0, lengths[order].tolist()
    for position, length in enumerate(ordered):  # ascending lengths: `length` is the batch's longest so far
        if size and length * (size + 1) > budget:
            cuts.append(position)
            size = 0
        size += 1
    return np.split(order, cuts) if len(order) else []


class TokenBudgetBatchSampler(Sampler):
    """Yields the fixed token-budget batches in a new random order each epoch (seeded: reproducible, and the
    same on every process of a data-parallel run, which then deals the batches out)."""

    def __init__(self, lengths, batch_size: int, seed: int, tokens_per_example: float = None):
        self.batches = token_budget_batches(lengths, batch_size, seed, tokens_per_example)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        order = list(range(len(self.batches)))
        random.Random(self.seed + self.epoch).shuffle(order)
        self.epoch += 1  # the next epoch's order, unless set_epoch says otherwise (as on resuming)
        return (self.batches[b].tolist() for b in order)


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def pack_rows(lengths: list, width: int) -> list:
    """(row, start) for each window, first fit in the given order; a window longer than `width` is an error."""
    free, placement = [], []
    for length in lengths:
        if length > width:
            raise ValueError(f"a window of {length} pieces does not fit a packed row of {width}")
        row = next((r for r, room in enumerate(free) if room >= length), None)
        if row is None:
            row = len(free)
            free.append(width)
        placement.append((row, width - free[row]))
        free[row] -= length
    return placement


def collate(windows: list, pad_id: int, packed: bool = False, width: int = None, rows: int = None,
            position_offset: int = 0) -> dict:
    """Tensors for a list of windows (dicts with "input_ids" and, for training, "labels").

    Padded (default): input_ids, attention_mask, labels of shape [windows, width]; width defaults to the
    longest window. A window's "labels" may be one class id (text classification): labels is then [windows]. Packed: input_ids, position_ids, segments, labels of shape [rows, width] and
    `placement`, the (row, start) of each window; rows default to as many as the windows need.
    `position_offset` is where a model's positions start (2 for RoBERTa, whose position 1 is padding).
    """
    lengths = [len(w["input_ids"]) for w in windows]
    has_labels = "labels" in windows[0]
    if not packed:
        width = width or max(lengths)
        shape = (len(windows), width)
        batch = {"input_ids": torch.full(shape, pad_id, dtype=torch.long),
                 "attention_mask": torch.zeros(shape, dtype=torch.long)}
        per_window = has_labels and isinstance(windows[0]["labels"], int)
        if has_labels:
            batch["labels"] = (torch.tensor([w["labels"] for w in windows]) if per_window
                               else torch.full(shape, IGNORE, dtype=torch.long))
        for row, (w, n) in enumerate(zip(windows, lengths)):
            batch["input_ids"][row, :n] = torch.tensor(w["input_ids"])
            batch["attention_mask"][row, :n] = 1
            if has_labels and not per_window:
                batch["labels"][row, :n] = torch.tensor(w["labels"])
        return batch
    if has_labels and isinstance(windows[0]["labels"], int):
        raise ValueError("windows labelled as a whole (classification) are not packed: each needs its own first token")
    placement = pack_rows(lengths, width)
    rows = rows or 1 + max(row for row, _ in placement)
    if 1 + max(row for row, _ in placement) > rows:
        raise ValueError(f"{len(windows)} windows need more than {rows} packed rows of {width}")
    shape = (rows, width)
    batch = {"input_ids": torch.full(shape, pad_id, dtype=torch.long),
             "position_ids": torch.full(shape, position_offset, dtype=torch.long),
             # Each row's padding is a segment of its own (-1): it attends to itself, not to the windows.
             "segments": torch.full(shape, -1, dtype=torch.long),
             "labels": torch.full(shape, IGNORE, dtype=torch.long)}
    for segment, (w, n, (row, start)) in enumerate(zip(windows, lengths, placement)):
        batch["input_ids"][row, start:start + n] = torch.tensor(w["input_ids"])
        batch["position_ids"][row, start:start + n] = torch.arange(position_offset, position_offset + n)
        batch["segments"][row, start:start + n] = segment
        if has_labels:
            batch["labels"][row, start:start + n] = torch.tensor(w["labels"])
    if not has_labels:
        del batch["labels"]
    batch["placement"] = placement
    return batch


def model_inputs(batch: dict) -> dict:
    """The model's keyword arguments for a collated batch (on its device). For a packed batch, the
    block-diagonal mask is built here, on the device, from the segment ids: a bool mask [rows, 1, width, width]
    that transformers passes to PyTorch's attention as it is (True: may attend)."""
    if "segments" not in batch:
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    segments = batch["segments"]
    mask = segments[:, None, :, None] == segments[:, None, None, :]
    return {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"], "attention_mask": mask}


def position_offset(model) -> int:
    """Where the model numbers positions from: RoBERTa-style embeddings count from padding_idx + 1."""
    if hasattr(model, "get_base_model"):  # peft's LoRA wrapper: the transformers model is inside
        model = model.get_base_model()
    embeddings = getattr(model.base_model, "embeddings", None)
    padding_idx = getattr(embeddings, "padding_idx", None)
    return 0 if padding_idx is None else padding_idx + 1


def unpack(batch: dict, values: torch.Tensor, lengths: list) -> list:
    """Per-window slices of a [rows, width, ...] tensor laid out like `batch` (padded or packed)."""
    if "placement" in batch:
        return [values[row, start:start + n] for (row, start), n in zip(batch["placement"], lengths)]
    return [values[row, :n] for row, n in enumerate(lengths)]
