import random

from nerflow.batching import TokenBudgetBatchSampler, token_budget_batches


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
    assert token_budget_batches([1, 1, 100], batch_size=1, seed=0) == [[0, 1], [2]]


def test_order_changes_by_epoch_and_is_reproducible():
    lengths = lengths_like_conll(500)
    first, second = TokenBudgetBatchSampler(lengths, 16, seed=3), TokenBudgetBatchSampler(lengths, 16, seed=3)
    epoch0, epoch1 = list(first), list(first)
    assert epoch0 != epoch1 and sorted(map(tuple, epoch0)) == sorted(map(tuple, epoch1))  # same batches, new order
    second.set_epoch(1)
    assert list(second) == epoch1
    assert len(first) == len(epoch0)
