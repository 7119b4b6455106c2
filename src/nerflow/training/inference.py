"""Batched prediction over encoded windows, shared by training (the dev score after each epoch), evaluation and
`nerflow predict`: per-position log-probabilities (token classification), or class probabilities per window; and
how sure a model is of a text (uncertainty), for choosing what to annotate next."""

import math

import numpy as np
import torch
from tqdm.auto import tqdm

from nerflow.data.store import Windows
from nerflow.training import IGNORE
from nerflow.training.batching import collate, model_inputs, position_offset, unpack
from nerflow.training.runtime import autocast_for, use_fast_attention_kernels

PACKED_WIDTH = 512  # packed prediction rows: several windows each, one attention block per window


def device_of(model) -> torch.device:
    return next(model.parameters()).device


def prediction_batches(lengths, batch_size: int, packed: bool, rows: int) -> list:
    """Index lists over windows of `lengths`. Padded: windows sorted by length, `batch_size` a batch, so a batch
    pads to its own longest. Packed: windows longest first, placed first-fit into `rows` rows of PACKED_WIDTH
    until one does not fit, so every batch has one shape (collate packs them the same way: same order, same rule)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if not packed:
        order = np.argsort(lengths, kind="stable").tolist()  # stable: ties keep input order
        return [order[first:first + batch_size] for first in range(0, len(order), batch_size)]
    batches, batch, free = [], [], []
    lengths = lengths.tolist()
    for i in np.argsort([-n for n in lengths], kind="stable").tolist():
        row = next((r for r, room in enumerate(free) if room >= lengths[i]), None)
        if row is None and len(free) == rows:
            batches.append(batch)
            batch, free = [], []
        if row is None:
            row = len(free)
            free.append(PACKED_WIDTH)
        free[row] -= lengths[i]
        batch.append(i)
    return batches + [batch] if batch else batches


def predict_windows(model, windows, batch_size: int, pad_id: int, progress: str = None,
                    loss: bool = False, packed: bool = None):
    """Log-probabilities of every label at every position of every window ([pieces, labels] float tensors on
    the CPU, in input order; `windows` as nerflow.data.store.Windows takes them). With `loss`, (log-probabilities,
    summed cross-entropy over the windows' labelled positions, labelled positions): the windows need their
    "labels" (-100 where unlabelled), as tokenize writes them.

    On CUDA the windows are packed into batches of one fixed shape (`batch_size` / 4 rows of PACKED_WIDTH), so
    the attention kernels and cuBLAS meet one shape for the whole run; on the CPU each batch of `batch_size`
    windows of similar length pads to its own longest, which computes the fewest tokens (BENCHMARKS.md).
    """
    device = device_of(model)
    packed = device.type == "cuda" if packed is None else packed
    use_fast_attention_kernels()
    rows = max(1, batch_size // 4)
    offset = position_offset(model)
    windows = Windows(windows, ["input_ids", "labels"] if loss else ["input_ids"])
    out = [None] * len(windows)
    was_training = model.training
    model.eval()
    loss_sum, labelled = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long)
    batches = prediction_batches(windows.lengths, batch_size, packed, rows)
    # delay: no bar for inputs tagged in under two seconds (a few sentences given to `nerflow predict`).
    with torch.inference_mode(), autocast_for(device):
        for batch_indexes in tqdm(batches, desc=progress, disable=progress is None, unit="batch", delay=2):
            batch_windows = windows.take(batch_indexes)
            batch = collate(batch_windows, pad_id, packed=packed, width=PACKED_WIDTH if packed else None,
                            rows=rows if packed else None, position_offset=offset)
            on_device = {k: v.to(device, non_blocking=True) for k, v in batch.items() if k != "placement"}
            logits = model(**model_inputs(on_device)).logits.float()
            if loss:
                labels = on_device["labels"]
                loss_sum += torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(),
                                                              ignore_index=IGNORE, reduction="sum")
                labelled += (labels != IGNORE).sum()
            log_probs = logits.log_softmax(-1).cpu()
            for i, row in zip(batch_indexes, unpack(batch, log_probs, [len(w["input_ids"]) for w in batch_windows])):
                out[i] = row
    model.train(was_training)
    return (out, loss_sum.item(), labelled.item()) if loss else out


def predict_classes(model, windows, batch_size: int, pad_id: int, loss: bool = False):
    """[examples, labels] class probabilities (CPU, input order); with `loss`, (probabilities, mean cross-entropy).
    Batches of windows of similar length, each padded to its own longest (as predict_windows on a CPU)."""
    device = device_of(model)
    windows = Windows(windows, ["input_ids", "labels"] if loss else ["input_ids"])
    out = torch.empty(len(windows), model.config.num_labels)
    total = torch.zeros((), device=device)
    was_training = model.training
    model.eval()
    with torch.inference_mode(), autocast_for(device):
        for indexes in prediction_batches(windows.lengths, batch_size, packed=False, rows=1):
            batch = collate(windows.take(indexes), pad_id)
            on_device = {k: v.to(device) for k, v in batch.items()}
            logits = model(**model_inputs(on_device)).logits.float()
            if loss:
                total += torch.nn.functional.cross_entropy(logits, on_device["labels"], reduction="sum")
            out[indexes] = logits.softmax(-1).cpu()
    model.train(was_training)
    return (out, total.item() / max(len(windows), 1)) if loss else out


# How a text's uncertainty is measured, for choosing what to annotate next; each in [0, 1], higher: less sure.
#   margin   1 - the smallest margin between a word's (a text's) two most probable labels: its least sure decision
#   mnlp     1 - the geometric mean probability of the predicted labels (maximum normalised log-probability, Shen
#            et al. 2017, as a probability): a whole text's sureness, not its length's
#   entropy  the mean entropy of the words' (the text's) label distributions, over log(labels)
#   random   no measure: the control an active-learning curve is compared with (rank shuffles, seeded)
STRATEGIES = ("margin", "mnlp", "entropy", "random")


def uncertainty(log_probs: torch.Tensor, chosen: torch.Tensor) -> dict:
    """{margin, mnlp, entropy} of one text from its decisions' log-probabilities ([decisions, labels]: a word
    each for NER, one for a classifier) and the label chosen at each; all 0 for a text with nothing to decide."""
    if not len(log_probs):
        return {"margin": 0.0, "mnlp": 0.0, "entropy": 0.0}
    probs = log_probs.float().exp()
    top = probs.topk(min(2, probs.shape[-1]), dim=-1).values
    margins = top[:, 0] - top[:, 1] if top.shape[-1] > 1 else top[:, 0]
    entropy = -(probs * log_probs.float().clamp(min=-100)).sum(-1) / math.log(max(probs.shape[-1], 2))
    chosen_log_probs = log_probs.float().gather(-1, chosen.view(-1, 1)).squeeze(-1)
    return {"margin": round(float(1 - margins.min()), 6), "mnlp": round(float(1 - chosen_log_probs.mean().exp()), 6),
            "entropy": round(float(entropy.mean()), 6)}
