"""nerflow.decoding: IOB2 transition constraints, Viterbi against brute force, stray I- tags against seqeval."""

import itertools
import random

import pytest
import torch
from seqeval.metrics import f1_score
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities

from nerflow.tasks.ner.train.decoding import allowed_transitions, count_stray_inside, decode, viterbi

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def table(rows: list) -> torch.Tensor:
    """Log-probabilities from hand-written probabilities, one row per word, in LABELS order."""
    return torch.tensor(rows).log()


def is_valid(tags: list) -> bool:
    return count_stray_inside([tags]) == 0


def random_tables(rng: random.Random, n: int, max_words: int, labels=LABELS) -> list:
    generator = torch.Generator().manual_seed(rng.randrange(2**31))
    return [torch.randn(rng.randint(0, max_words), len(labels), generator=generator).mul(2).log_softmax(-1)
            for _ in range(n)]


def test_allowed_transitions_constrain_only_inside_tags():
    start, transition = allowed_transitions(LABELS)
    assert start.tolist() == [True, True, False, True, False]
    allowed = {(a, b) for (i, a), (j, b) in itertools.product(enumerate(LABELS), repeat=2) if transition[i, j]}
    assert {(a, b) for a, b in allowed if b.startswith("I-")} == {
        ("B-PER", "I-PER"), ("I-PER", "I-PER"), ("B-LOC", "I-LOC"), ("I-LOC", "I-LOC")}
    assert all((a, b) in allowed for a in LABELS for b in ("O", "B-PER", "B-LOC"))


def test_a_stray_inside_tag_is_fixed():
    # Argmax: O I-PER O, an I-PER after O. The best valid path makes it B-PER (0.3) rather than O (0.1).
    log_probs = table([[0.9, 0.05, 0.01, 0.03, 0.01],
                       [0.1, 0.3, 0.55, 0.03, 0.02],
                       [0.8, 0.05, 0.1, 0.03, 0.02]])
    assert decode([log_probs], LABELS, constrained=False) == [["O", "I-PER", "O"]]
    assert decode([log_probs], LABELS, constrained=True) == [["O", "B-PER", "O"]]
    # At the sentence start too.
    assert decode([table([[0.2, 0.1, 0.6, 0.05, 0.05]])], LABELS, constrained=True) == [["O"]]


def test_the_best_valid_path_may_change_an_earlier_word():
    # Argmax: B-LOC I-PER. Valid: B-PER I-PER (0.4 × 0.7 = 0.28) beats B-LOC O (0.5 × 0.1), B-LOC I-LOC (0.5 × 0.05).
    log_probs = table([[0.05, 0.4, 0.0, 0.5, 0.05],
                       [0.1, 0.1, 0.7, 0.05, 0.05]])
    assert decode([log_probs], LABELS, constrained=True) == [["B-PER", "I-PER"]]


def test_a_valid_sequence_is_unchanged():
    log_probs = table([[0.1, 0.6, 0.1, 0.1, 0.1],
                       [0.1, 0.1, 0.6, 0.1, 0.1],
                       [0.2, 0.1, 0.1, 0.5, 0.1],
                       [0.1, 0.1, 0.1, 0.1, 0.6]])
    assert decode([log_probs], LABELS, constrained=True) == [["B-PER", "I-PER", "B-LOC", "I-LOC"]]
    # Ties included: where the argmax path is valid, it is what Viterbi returns.
    start, transition = allowed_transitions(LABELS)
    tied = table([[0.4, 0.4, 0.0, 0.2, 0.0], [0.3, 0.3, 0.3, 0.1, 0.0]])
    assert viterbi(tied, start, transition) == tied.argmax(-1).tolist() == [0, 0]
    for log_probs in random_tables(random.Random(1), 300, 8):
        argmax = log_probs.argmax(-1).tolist()
        if is_valid([LABELS[i] for i in argmax]):
            assert viterbi(log_probs, start, transition) == argmax


@pytest.mark.parametrize("labels, max_words", [(LABELS, 5), (["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG"], 4)])
def test_viterbi_equals_brute_force_over_all_valid_paths(labels, max_words):
    start, transition = allowed_transitions(labels)
    starts, follows = start.tolist(), transition.tolist()
    repaired = 0  # tables whose argmax is invalid, so that the dynamic programme runs
    for log_probs in random_tables(random.Random(0), 200, max_words, labels):
        scores = log_probs.tolist()
        valid = [path for path in itertools.product(range(len(labels)), repeat=len(scores))
                 if not path or (starts[path[0]] and all(follows[a][b] for a, b in zip(path, path[1:])))]
        best = max(valid, key=lambda path: sum(scores[t][j] for t, j in enumerate(path)))
        assert viterbi(log_probs, start, transition) == list(best)
        repaired += list(best) != log_probs.argmax(-1).tolist()
    assert repaired > 50


def test_decode_unconstrained_is_argmax_and_empty_sentences_stay_empty():
    tables = random_tables(random.Random(2), 50, 10)
    assert decode(tables, LABELS, constrained=False) == [[LABELS[i] for i in t.argmax(-1).tolist()] for t in tables]
    assert decode([torch.zeros(0, 5)], LABELS, constrained=True) == [[]]
    assert decode([], LABELS, constrained=True) == []
    assert decode([table([[0.1, 0.25, 0.3, 0.2, 0.15]]).to(torch.bfloat16)], LABELS, constrained=True) == [["B-PER"]]


def test_count_stray_inside():
    assert count_stray_inside([["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-LOC", "I-LOC", "B-LOC", "I-LOC"], []]) == 3
    assert count_stray_inside([["B-PER", "I-PER", "O", "B-LOC"]]) == 0


def test_stray_inside_tags_are_the_entities_conlleval_adds_to_strict_iob2():
    rng = random.Random(3)
    sequences = [[rng.choice(LABELS) for _ in range(rng.randint(0, 12))] for _ in range(500)]
    beginnings = sum(tag.startswith("B-") for tags in sequences for tag in tags)
    assert sum(len(entities) for entities in Entities(sequences, IOB2).entities) == beginnings
    assert sum(len(get_entities(tags)) for tags in sequences) == beginnings + count_stray_inside(sequences)


def test_constrained_decoding_makes_conlleval_and_strict_f1_coincide():
    rng = random.Random(4)
    tables = random_tables(rng, 400, 12)
    noise = torch.Generator().manual_seed(4)
    gold = decode([t + torch.randn(t.shape, generator=noise) for t in tables], LABELS, constrained=True)  # valid, close
    argmax = decode(tables, LABELS, constrained=False)
    constrained = decode(tables, LABELS, constrained=True)
    strict = {"mode": "strict", "scheme": IOB2}
    assert count_stray_inside(argmax) > 0
    assert f1_score(gold, argmax) != f1_score(gold, argmax, **strict)
    assert count_stray_inside(constrained) == 0
    assert f1_score(gold, constrained) == f1_score(gold, constrained, **strict) > 0.2
