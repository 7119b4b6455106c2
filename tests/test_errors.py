import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from nerflow.tasks.evaluate import f1_records
from nerflow.tasks.ner.evaluate.errors import (KINDS, Entity, classify_errors, confusion_records, entities, error_report_markdown,
                                      error_summary)
from nerflow.tasks.ner.train.metrics import entity_scores


def only(analysis, **expected):
    """The analysis counts, with every kind not named in `expected` required to be 0."""
    return analysis.counts == {"correct": 0, **dict.fromkeys(KINDS, 0), **expected}


@pytest.mark.parametrize("gold, predicted, kind, gold_entity, predicted_entity", [
    (["B-PER", "O"], ["B-LOC", "O"], "wrong_type", ("PER", 0, 0), ("LOC", 0, 0)),
    (["B-PER", "I-PER"], ["B-PER", "O"], "wrong_boundary", ("PER", 0, 1), ("PER", 0, 0)),
    (["O", "B-PER"], ["B-PER", "I-PER"], "wrong_boundary", ("PER", 1, 1), ("PER", 0, 1)),
    (["B-ORG", "I-ORG"], ["O", "B-LOC"], "wrong_type_and_boundary", ("ORG", 0, 1), ("LOC", 1, 1)),
    (["B-PER", "O"], ["O", "O"], "missed", ("PER", 0, 0), None),
    (["B-PER", "O"], ["O", "B-PER"], "missed", ("PER", 0, 0), None),  # adjacent is not overlapping
    (["O", "O"], ["O", "B-MISC"], "spurious", None, ("MISC", 1, 1)),
])
def test_each_kind_alone(gold, predicted, kind, gold_entity, predicted_entity):
    analysis = classify_errors([gold], [predicted])
    error = analysis.errors[0]
    assert (error.sentence, error.kind, error.gold, error.predicted) == (0, kind, gold_entity, predicted_entity)
    type_ = (gold_entity or predicted_entity)[0]  # spurious errors count under the predicted type
    assert analysis.per_type[type_][kind] == 1
    if kind == "missed" and predicted[1] != "O":
        assert only(analysis, missed=1, spurious=1)
    else:
        assert only(analysis, **{kind: 1})


# Alice met Bob in New York City , Carol said on Monday
COMBINED_GOLD = ["B-PER", "O", "B-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O", "B-PER", "O", "O", "O"]
COMBINED_PRED = ["B-PER", "O", "B-ORG", "O", "B-LOC", "I-LOC", "O", "O", "O", "O", "O", "B-MISC"]
COMBINED_TOKENS = "Alice met Bob in New York City , Carol said on Monday".split()


def test_all_kinds_in_one_sentence():
    analysis = classify_errors([["O"], COMBINED_GOLD], [["O"], COMBINED_PRED])
    assert [(o.sentence, o.kind, o.gold, o.predicted) for o in analysis.outcomes] == [
        (1, "correct", ("PER", 0, 0), ("PER", 0, 0)),
        (1, "wrong_type", ("PER", 2, 2), ("ORG", 2, 2)),
        (1, "wrong_boundary", ("LOC", 4, 6), ("LOC", 4, 5)),
        (1, "missed", ("PER", 8, 8), None),
        (1, "spurious", None, ("MISC", 11, 11)),
    ]
    assert only(analysis, correct=1, wrong_type=1, wrong_boundary=1, missed=1, spurious=1)
    zero = dict.fromkeys(KINDS, 0)
    assert error_summary(analysis) == {
        "errors": {**zero, "wrong_type": 1, "wrong_boundary": 1, "missed": 1, "spurious": 1, "total": 4},
        "per_type": {"LOC": {**zero, "wrong_boundary": 1, "total": 1},
                     "MISC": {**zero, "spurious": 1, "total": 1},
                     "PER": {**zero, "wrong_type": 1, "missed": 1, "total": 2}},
    }
    assert json.loads(json.dumps(error_summary(analysis))) == error_summary(analysis)
    assert confusion_records(analysis) == [
        {"actual": "PER", "predicted": "PER"}, {"actual": "PER", "predicted": "ORG"},
        {"actual": "LOC", "predicted": "LOC"}, {"actual": "PER", "predicted": "missed"},
        {"actual": "spurious", "predicted": "MISC"},
    ]


def test_one_gold_many_predictions():
    # Gold PER[0-3] predicted as PER[0-0] + PER[2-3]: the larger overlap is the pair, the rest is spurious.
    analysis = classify_errors([["B-PER", "I-PER", "I-PER", "I-PER"]], [["B-PER", "O", "B-PER", "I-PER"]])
    assert [(o.kind, o.gold, o.predicted) for o in analysis.outcomes] == [
        ("spurious", None, ("PER", 0, 0)), ("wrong_boundary", ("PER", 0, 3), ("PER", 2, 3))]


def test_many_gold_one_prediction():
    # Equal overlaps (2 words each): the same-type pair wins, the other gold entity is missed.
    analysis = classify_errors([["B-LOC", "I-LOC", "B-PER", "I-PER"]], [["B-PER", "I-PER", "I-PER", "I-PER"]])
    assert [(o.kind, o.gold, o.predicted) for o in analysis.outcomes] == [
        ("missed", ("LOC", 0, 1), None), ("wrong_boundary", ("PER", 2, 3), ("PER", 0, 3))]
    # A larger overlap beats a matching type.
    analysis = classify_errors([["B-PER", "B-LOC", "I-LOC"]], [["B-PER", "I-PER", "I-PER"]])
    assert [(o.kind, o.gold, o.predicted) for o in analysis.outcomes] == [
        ("missed", ("PER", 0, 0), None), ("wrong_type_and_boundary", ("LOC", 1, 2), ("PER", 0, 2))]


def test_i_after_o_is_an_entity_as_in_seqeval():
    assert entities(["O", "I-PER", "I-PER", "B-LOC", "I-ORG"]) == [("PER", 1, 2), ("LOC", 3, 3), ("ORG", 4, 4)]
    gold = [["O", "B-PER", "I-PER"], ["B-PER", "B-LOC"]]
    predicted = [["O", "I-PER", "I-PER"], ["B-PER", "I-LOC"]]  # ill-formed IOB2, same entities for seqeval
    assert entity_scores(gold, predicted)["f1"] == 1.0
    assert only(classify_errors(gold, predicted), correct=3)


def random_tags(rng, length):
    # Ill-formed IOB2 (I- after O, I- of another type) included on purpose.
    return [rng.choice(["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]) for _ in range(length)]


def test_counts_agree_with_seqeval():
    rng = random.Random(13)
    gold, predicted = [], []
    for _ in range(300):
        length = rng.randint(1, 12)
        gold.append(random_tags(rng, length))
        predicted.append(random_tags(rng, length))
    analysis, scores = classify_errors(gold, predicted), entity_scores(gold, predicted)
    c = analysis.counts
    paired = c["wrong_type"] + c["wrong_boundary"] + c["wrong_type_and_boundary"]
    # Every gold and every predicted entity is in exactly one outcome, one-to-many overlaps included.
    assert c["correct"] + paired + c["missed"] == sum(len(entities(tags)) for tags in gold)
    assert c["correct"] + paired + c["spurious"] == sum(len(entities(tags)) for tags in predicted)
    assert paired and c["missed"] and c["spurious"] and c["correct"]
    assert scores["precision"] == pytest.approx(c["correct"] / (c["correct"] + paired + c["spurious"]))
    assert scores["recall"] == pytest.approx(c["correct"] / (c["correct"] + paired + c["missed"]))
    for type_, row in scores["per_type"].items():
        counts = analysis.per_type[type_]
        assert counts["correct"] + counts["wrong_type"] + counts["wrong_boundary"] + \
            counts["wrong_type_and_boundary"] + counts["missed"] == row["support"]
        assert row["recall"] == pytest.approx(counts["correct"] / row["support"])
    assert len(confusion_records(analysis)) == len(analysis.outcomes)


def test_f1_records_of_entity_types():
    scores = entity_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    assert f1_records(scores["per_type"]) == [
        {"type": "LOC", "f1": 0.0, "precision": 0.0, "recall": 0.0, "support": 1},
        {"type": "ORG", "f1": 0.0, "precision": 0.0, "recall": 0.0, "support": 0},
        {"type": "PER", "f1": 1.0, "precision": 1.0, "recall": 1.0, "support": 1},
    ]


def report(max_examples=3):
    tokens = [["Hi"], COMBINED_TOKENS, ["Bob"] * 2, ["Bob"]]
    gold = [["O"], COMBINED_GOLD, ["B-PER", "O"], ["B-PER"]]
    predicted = [["O"], COMBINED_PRED, ["B-ORG", "O"], ["B-ORG"]]
    return error_report_markdown(tokens, gold, predicted, classify_errors(gold, predicted), "dev", max_examples)


def test_report_markdown():
    text = report()
    lines = text.splitlines()
    assert lines[0] == "# Error analysis: dev"
    assert "| type | correct | wrong_type | wrong_boundary | wrong_type_and_boundary | missed | spurious | errors |" \
        in lines
    assert "| PER | 1 | 3 | 0 | 0 | 1 | 0 | 4 |" in lines
    assert "| **all** | 1 | 3 | 1 | 0 | 1 | 1 | 6 |" in lines
    # Confusions: most frequent first, then alphabetical; correct outcomes are not listed.
    confusions = lines[lines.index("## Most frequent confusions (gold -> predicted)") + 2:][:4]
    assert confusions == ["- PER -> ORG: 3", "- LOC -> LOC (boundary): 1", "- PER -> missed: 1",
                          "- spurious -> MISC: 1"]
    assert "### wrong_type (3)" in lines and "### wrong_type_and_boundary" not in text
    # The first wrong_type example: sentence 1, shortened around the error, entities never cut.
    start = lines.index("### wrong_type (3)") + 3
    assert lines[start:start + 3] == [
        '#1: gold PER "Bob" -> predicted ORG "Bob"',
        "  gold: [Alice]PER met [Bob]PER in [New York City]LOC , …",
        "  pred: [Alice]PER met [Bob]ORG in [New York]LOC City , …",
    ]
    assert '#0: gold (none) -> predicted MISC "Monday"' not in text and \
        '#1: gold (none) -> predicted MISC "Monday"' in text
    # Monday's window (5 words back) would start inside New York City: it is widened to the whole entity.
    assert "  gold: … [New York City]LOC , [Carol]PER said on Monday" in lines
    assert "  pred: … [New York]LOC City , Carol said on [Monday]MISC" in lines


def test_report_examples_are_limited_and_deterministic():
    assert report() == report()
    wrong_type = [line for line in report().splitlines() if line.startswith("#") and "ORG" in line]
    assert [line.split(":")[0] for line in wrong_type] == ["#1", "#2", "#3"]
    wrong_type = [line for line in report(max_examples=2).splitlines() if line.startswith("#") and "ORG" in line]
    assert [line.split(":")[0] for line in wrong_type] == ["#1", "#2"]


def test_report_does_not_depend_on_string_hashing():
    # Another process with another hash seed must write the same report (no set-order leaks).
    code = "import sys; sys.path.insert(0, 'tests'); import test_errors; print(test_errors.report(), end='')"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root / "src")}
    other = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert other.stdout == report()


def test_no_errors_and_shape_mismatch():
    analysis = classify_errors([["B-PER"]], [["B-PER"]])
    assert error_summary(analysis)["errors"]["total"] == 0 and analysis.errors == []
    assert "No errors." in error_report_markdown([["Ann"]], [["B-PER"]], [["B-PER"]], analysis, "test")
    with pytest.raises(ValueError):
        classify_errors([["O", "O"]], [["O"]])
    with pytest.raises(ValueError):
        classify_errors([["O"]], [])
    assert isinstance(analysis.outcomes[0].gold, Entity)


def test_report_shows_at_most_one_example_per_sentence_and_kind():
    tokens = [["Ann", "Bob", "Cy"], ["Dee"]]
    gold, predicted = [["B-PER"] * 3, ["B-PER"]], [["B-ORG"] * 3, ["B-ORG"]]
    text = error_report_markdown(tokens, gold, predicted, classify_errors(gold, predicted), "dev")
    assert "### wrong_type (4)" in text
    assert [line.split(":")[0] for line in text.splitlines() if line.startswith("#") and "ORG" in line] == ["#0", "#1"]
