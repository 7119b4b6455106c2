import pytest

from nerflow.tasks.ner.train.metrics import entity_scores

GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
PRED = [["B-PER", "I-PER", "O", "B-ORG"], ["I-ORG", "O"]]


def test_hand_computed_scores():
    # Gold entities: PER(0-1), LOC(3), ORG(s2:0). Predicted (conlleval): PER(0-1), ORG(3), ORG(s2:0) from I-ORG.
    scores = entity_scores(GOLD, PRED)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)
    # Strict IOB2: an entity cannot start with I-, so only PER(0-1) and ORG(3) are predicted.
    assert scores["strict"] == pytest.approx({"precision": 1 / 2, "recall": 1 / 3, "f1": 0.4})
    assert scores["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert scores["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["per_type"]["ORG"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert scores["macro_f1"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert scores["token_accuracy"] == pytest.approx(4 / 6)
    assert (scores["sentences"], scores["words"]) == (2, 6)


def test_boundary_error_is_not_a_match():
    scores = entity_scores([["B-PER", "I-PER"]], [["B-PER", "O"]])
    assert scores["f1"] == 0.0 and scores["token_accuracy"] == 0.5


def test_token_accuracy_is_not_entity_f1():
    # The classic mistake: predicting O everywhere scores high on tokens and zero on entities.
    gold = [["O"] * 9 + ["B-PER"]]
    scores = entity_scores(gold, [["O"] * 10])
    assert scores["token_accuracy"] == pytest.approx(0.9)
    assert scores["f1"] == 0.0 and scores["precision"] == 0.0 and scores["recall"] == 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        entity_scores([["O", "O"]], [["O"]])
