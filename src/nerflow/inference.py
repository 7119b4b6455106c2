"""Batched prediction over encoded windows, shared by training (dev F1 per epoch) and evaluation."""

import contextlib

import torch
from tqdm.auto import tqdm

from nerflow.align import IGNORE, words_from_windows


def use_fast_attention_kernels() -> None:
    """Keep PyTorch's attention off its cuDNN kernel, which builds a plan for every new batch shape: on an H100
    a training step at a width not seen before took 251 ms with it and 47 ms with the flash/memory-efficient
    kernels (BENCHMARKS.md). Batches here vary in width, so most are new shapes."""
    if torch.cuda.is_available():
        torch.backends.cuda.enable_cudnn_sdp(False)


def predict_windows(model, windows: list, batch_size: int, pad_id: int, progress: str = None,
                    scores: bool = False, loss: bool = False):
    """Predicted label ids for every position of every window, in input order; with `scores`, (label id, its
    softmax probability) pairs instead. With `loss`, (predictions, mean cross-entropy over the windows'
    labelled positions): the windows need their "labels" (-100 where unlabelled), as tokenize writes them.

    Windows are batched by length (sorted), so a batch pads only to its own longest window.
    """
    device = next(model.parameters()).device
    use_fast_attention_kernels()
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda" and torch.cuda.is_bf16_supported()
        else contextlib.nullcontext()
    )
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]["input_ids"]))
    predicted = [None] * len(windows)
    was_training = model.training
    model.eval()
    batches = range(0, len(order), batch_size)
    loss_sum, labelled = 0.0, 0
    # delay: no bar for inputs tagged in under two seconds (a few sentences given to `nerflow predict`).
    with torch.inference_mode(), autocast:
        for first in tqdm(batches, desc=progress, disable=progress is None, unit="batch", delay=2):
            batch = order[first:first + batch_size]
            width = len(windows[batch[-1]]["input_ids"])
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
            labels = torch.full((len(batch), width), IGNORE, dtype=torch.long) if loss else None
            for row, i in enumerate(batch):
                ids = windows[i]["input_ids"]
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attention_mask[row, : len(ids)] = 1
                if loss:
                    labels[row, : len(ids)] = torch.tensor(windows[i]["labels"])
            logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
            label_ids = logits.argmax(-1)
            if loss:
                labels = labels.to(device)
                loss_sum += torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten(),
                                                              ignore_index=IGNORE, reduction="sum").item()
                labelled += int((labels != IGNORE).sum())
            rows = label_ids.tolist()
            if scores:
                probabilities = logits.float().softmax(-1).gather(-1, label_ids.unsqueeze(-1)).squeeze(-1)
                rows = [list(zip(ids, probs)) for ids, probs in zip(rows, probabilities.tolist())]
            for i, row in zip(batch, rows):
                predicted[i] = row[: len(windows[i]["input_ids"])]
    model.train(was_training)
    return (predicted, loss_sum / max(labelled, 1)) if loss else predicted


def predict_tags(model, windows: list, sentence_lengths: list, id2label: dict, batch_size: int, pad_id: int,
                 progress: str = None, loss: bool = False):
    """One predicted tag per word of every sentence (checked: no word missed or predicted twice); with `loss`,
    (tags, mean cross-entropy) as in predict_windows."""
    per_position = predict_windows(model, windows, batch_size, pad_id, progress, loss=loss)
    per_position, mean_loss = per_position if loss else (per_position, None)
    per_word = words_from_windows(windows, per_position, sentence_lengths)
    tags = [[id2label[i] for i in sentence] for sentence in per_word]
    return (tags, mean_loss) if loss else tags
