"""A model's tags for the words of windows: per-position scores gathered back to one per word (every word
predicted exactly once, checked), chunk by chunk, and decoded. Training scores dev with it after each epoch, the
evaluate stage scores dev and test with it, `nerflow predict` tags raw text with it."""

from bisect import bisect_right

import numpy as np
import torch

from nerflow.data.store import Windows
from nerflow.tasks.ner.train.decoding import decode
from nerflow.training.inference import predict_windows

EVAL_CHUNK = 16384  # windows predicted at a time when scoring a split: their per-position scores are what it holds


def predict_word_scores(model, windows, sentence_lengths: list, batch_size: int, pad_id: int,
                        progress: str = None, loss: bool = False, first_sentence: int = 0):
    """Per sentence, the [words, labels] log-probabilities read at each word's first piece (checked: no word
    missed or predicted twice), for windows whose sentences are numbered from `first_sentence`; with `loss`,
    (scores, summed cross-entropy, labelled positions) as in predict_windows."""
    per_position = predict_windows(model, windows, batch_size, pad_id, progress, loss=loss)
    per_position, *totals = per_position if loss else (per_position,)
    windows = Windows(windows, ["sentence", "word_index"])
    per_word = words_from_windows(windows.take(range(len(windows))), per_position, sentence_lengths, first_sentence)
    scores = [torch.stack(sentence) for sentence in per_word]
    return (scores, *totals) if loss else scores


def sentence_chunks(windows: Windows, sentences: int, limit: int = EVAL_CHUNK) -> list:
    """(first window, end window, first sentence, end sentence) of consecutive runs of about `limit` windows that
    own whole sentences: a run ends only where the next window starts a new sentence (windows of a sentence too
    long for one share its number), so every word's window is in its sentence's run."""
    numbers = np.asarray(Windows(windows, ["sentence"]).column("sentence"), dtype=np.int64)
    chunks, start = [], 0
    while start < len(numbers):
        end = min(start + limit, len(numbers))
        while end < len(numbers) and numbers[end] == numbers[end - 1]:
            end += 1
        chunks.append((start, end, int(numbers[start]), int(numbers[end]) if end < len(numbers) else sentences))
        start = end
    return chunks


def scored_chunks(model, windows, sentence_lengths: list, batch_size: int, pad_id: int, progress: str = None,
                  loss: bool = False):
    """Yield (first sentence, end sentence, their per-word scores, (summed cross-entropy, labelled positions) or
    None) a chunk of windows at a time (sentence_chunks), so that the scores of one chunk only are held."""
    windows = Windows(windows)
    for start, end, first, last in sentence_chunks(windows, len(sentence_lengths)):
        scores = predict_word_scores(model, windows.slice(start, end), sentence_lengths[first:last], batch_size,
                                     pad_id, progress, loss, first)
        scores, *totals = scores if loss else (scores,)
        yield first, last, scores, (totals or None)


def predict_tags(model, windows, sentence_lengths: list, labels: list, batch_size: int, pad_id: int,
                 constrained: bool = True, progress: str = None, loss: bool = False):
    """One predicted tag per word of every sentence: the best valid IOB2 sequence (constrained) or each word's
    most probable label; with `loss`, (tags, mean cross-entropy over the labelled positions)."""
    tags, loss_sum, labelled = [], 0.0, 0
    for _, _, scores, totals in scored_chunks(model, windows, sentence_lengths, batch_size, pad_id, progress, loss):
        if loss:
            loss_sum, labelled = loss_sum + totals[0], labelled + totals[1]
        tags += decode(scores, labels, constrained)
    return (tags, loss_sum / max(labelled, 1)) if loss else tags


def words_from_windows(windows: list, predicted: list, sentence_lengths: list, first_sentence: int = 0) -> list:
    """Gather per-position predictions back into one prediction per word; check every word got exactly one.
    `sentence_lengths` are those of the windows' sentences, numbered from `first_sentence`."""
    starts = [0]
    for n in sentence_lengths:
        starts.append(starts[-1] + n)
    flat = [None] * starts[-1]  # every word of every sentence, in order (see encode for how windows number them)
    for window, window_predictions in zip(windows, predicted, strict=True):
        base = starts[window["sentence"] - first_sentence]
        for word, prediction in zip(window["word_index"], window_predictions):
            if word >= 0:
                if flat[base + word] is not None:
                    sentence = bisect_right(starts, base + word) - 1
                    raise AssertionError(f"sentence {sentence}: word {base + word - starts[sentence]} predicted twice")
                flat[base + word] = prediction
    missing = flat.count(None)
    if missing:
        raise AssertionError(f"{missing} word(s) got no prediction; the windows do not cover every word")
    return [flat[starts[i]:starts[i + 1]] for i in range(len(sentence_lengths))]
