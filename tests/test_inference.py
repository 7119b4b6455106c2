"""Batched prediction gives what each window alone gives: padding and sorting change nothing."""

import random

import pytest
import torch

from nerflow.tasks.ner.tokenize.windows import encode
from nerflow.training import IGNORE
from nerflow.training.inference import predict_windows

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


@pytest.fixture(scope="module")
def model_and_windows(tiny_model_dir, tiny_tokenizer):
    from transformers import AutoModelForTokenClassification

    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(tiny_model_dir, num_labels=len(LABELS))
    rng = random.Random(0)
    words = ["paris", "berlin", "a", "b", "xyz", "london", "qq"]
    sentences = [[rng.choice(words) for _ in range(rng.randint(1, 30))] for _ in range(12)]
    tags = [[rng.choice(LABELS) for _ in s] for s in sentences]
    windows = encode(tiny_tokenizer, sentences, 16, 4, tags=tags, label2id={l: i for i, l in enumerate(LABELS)})
    return model, windows, tiny_tokenizer.pad_token_id


def one_by_one(model, windows):
    """Each window through the model alone, unpadded: (label ids, top probabilities, summed loss, labelled)."""
    ids, probs, loss_sum, labelled = [], [], 0.0, 0
    model.eval()
    with torch.no_grad():
        for w in windows:
            logits = model(input_ids=torch.tensor([w["input_ids"]])).logits[0]
            top = logits.softmax(-1).max(-1)
            ids.append(logits.argmax(-1).tolist())
            probs.append(top.values.tolist())
            labels = torch.tensor(w["labels"])
            loss_sum += torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE, reduction="sum").item()
            labelled += int((labels != IGNORE).sum())
    return ids, probs, loss_sum, labelled


def test_batches_of_mixed_lengths_predict_as_single_windows(model_and_windows):
    model, windows, pad_id = model_and_windows
    assert len({len(w["input_ids"]) for w in windows}) > 3  # the batches really are padded
    ids, probs, loss_sum, labelled = one_by_one(model, windows)
    log_probs, summed, counted = predict_windows(model, windows, batch_size=5, pad_id=pad_id, loss=True)
    assert [row.argmax(-1).tolist() for row in log_probs] == ids
    assert [row.exp().max(-1).values.tolist() for row in log_probs] == [pytest.approx(p, abs=1e-5) for p in probs]
    assert labelled > 0 and counted == labelled and summed == pytest.approx(loss_sum, rel=1e-5)


def test_packed_prediction_equals_padded(model_and_windows):
    """The GPU's fixed-shape packed batches predict what the CPU's padded batches do."""
    model, windows, pad_id = model_and_windows
    padded, padded_loss, padded_count = predict_windows(model, windows, batch_size=5, pad_id=pad_id, loss=True,
                                                        packed=False)
    packed, packed_loss, packed_count = predict_windows(model, windows, batch_size=8, pad_id=pad_id, loss=True,
                                                        packed=True)
    for a, b in zip(padded, packed):
        assert torch.allclose(a, b, atol=1e-5)
    assert packed_loss == pytest.approx(padded_loss, rel=1e-5) and packed_count == padded_count
