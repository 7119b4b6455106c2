import random

import numpy as np
import pytest
import torch

from nerflow.training.batching import (TokenBudgetBatchSampler, collate, model_inputs, pack_rows, position_offset,
                              token_budget_batches, unpack)


def lengths_like_conll(n=2000, seed=0):
    rng = random.Random(seed)
    return [min(128, max(3, int(rng.lognormvariate(3.0, 0.6)))) for _ in range(n)]


def test_every_window_once_and_within_the_budget():
    lengths = lengths_like_conll()
    batches = token_budget_batches(lengths, batch_size=32, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    budget = 32 * sum(lengths) / len(lengths)
    for batch in batches:
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= budget
    # Short windows come many to a batch, long ones few: tokens per batch stay level.
    longest = max(batches, key=lambda b: max(lengths[i] for i in b))
    shortest = min(batches, key=lambda b: max(lengths[i] for i in b))
    assert len(shortest) > 4 * len(longest)
    # About as many steps as fixed batches of 32, with little padding.
    assert abs(len(batches) - len(lengths) / 32) < 0.25 * len(lengths) / 32
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert sum(lengths) / padded > 0.9


def test_a_window_longer_than_the_budget_gets_a_batch_of_its_own():
    # budget = 1 x mean length 34: the two short windows share a batch, the long one is alone
    assert [b.tolist() for b in token_budget_batches([1, 1, 100], batch_size=1, seed=0)] == [[0, 1], [2]]


def test_batches_are_planned_as_the_list_based_sampler_planned_them():
    """The plan from a lengths array is the one the sampler made from Python lists before windows moved to Arrow
    (the same seed gives the same batches, so the same training): shuffle, stable sort by length, greedy cut."""
    lengths = lengths_like_conll(3000)
    for seed, tokens_per_example in ((1, None), (7, 17.5)):
        order = list(range(len(lengths)))
        random.Random(seed).shuffle(order)
        order.sort(key=lengths.__getitem__)
        budget, expected, batch = 32 * (tokens_per_example or sum(lengths) / len(lengths)), [], []
        for i in order:
            if batch and lengths[i] * (len(batch) + 1) > budget:
                expected.append(batch)
                batch = []
            batch.append(i)
        expected.append(batch)
        planned = token_budget_batches(np.array(lengths), 32, seed, tokens_per_example)
        assert [b.tolist() for b in planned] == expected


def test_order_changes_by_epoch_and_is_reproducible():
    lengths = lengths_like_conll(500)
    first, second = TokenBudgetBatchSampler(lengths, 16, seed=3), TokenBudgetBatchSampler(lengths, 16, seed=3)
    epoch0, epoch1 = list(first), list(first)
    assert epoch0 != epoch1 and sorted(map(tuple, epoch0)) == sorted(map(tuple, epoch1))  # same batches, new order
    second.set_epoch(1)
    assert list(second) == epoch1
    assert len(first) == len(epoch0)


@pytest.mark.parametrize("builder", ["tiny_model_dir", "tiny_roberta_dir"])
def test_packed_batch_gives_each_window_its_own_logits_and_the_same_loss(builder, request):
    """A packed batch (windows end to end, block-diagonal attention, positions restarting) is a layout change:
    per-window logits and the batch loss equal those of the padded batch (fp32)."""
    from transformers import AutoModelForTokenClassification

    folder = request.getfixturevalue(builder)
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(folder, num_labels=5, attn_implementation="sdpa").eval()
    rng = random.Random(0)
    windows = [{"input_ids": [rng.randrange(5, 40) for _ in range(rng.randint(2, 30))]} for _ in range(9)]
    for w in windows:
        w["labels"] = [rng.choice([-100, 0, 1, 2, 3, 4]) for _ in w["input_ids"]]
    pad_id = model.config.pad_token_id or 0
    offset = position_offset(model)
    assert offset == (2 if builder == "tiny_roberta_dir" else 0)
    packed = collate(windows, pad_id, packed=True, width=64, position_offset=offset)
    padded = collate(windows, pad_id)
    assert packed["input_ids"].shape[0] < len(windows)  # several windows share a row
    lengths = [len(w["input_ids"]) for w in windows]
    with torch.no_grad():
        packed_out = model(**model_inputs(packed), labels=packed["labels"])
        padded_out = model(**model_inputs(padded), labels=padded["labels"])
        for window, logits in zip(windows, unpack(packed, packed_out.logits, lengths)):
            alone = model(input_ids=torch.tensor([window["input_ids"]])).logits[0]
            assert torch.allclose(logits, alone, atol=1e-5)
    assert packed_out.loss.item() == pytest.approx(padded_out.loss.item(), rel=1e-5)


def test_packing_places_every_window_once_within_its_row():
    lengths = lengths_like_conll(300)
    placement = pack_rows(lengths, 128)
    cells = set()
    for (row, start), n in zip(placement, lengths):
        assert start + n <= 128
        span = {(row, c) for c in range(start, start + n)}
        assert not span & cells
        cells |= span
    assert len(cells) == sum(lengths)
    with pytest.raises(ValueError):
        pack_rows([129], 128)
