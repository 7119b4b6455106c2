import itertools

import pyarrow as pa
import pytest

from nerflow.tasks import task_part
from nerflow.tasks.ner.preprocess import ReadOptions
from nerflow.tasks.ner.records import entity_type, from_iob2, iob1_to_iob2, is_valid_tag, label_list, to_iob2


def test_iob1_to_iob2():
    assert iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG"]) == \
        ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG"]
    assert iob1_to_iob2([]) == []


def first_iob2_violation(tags: list):
    """Index of the first I-X that does not continue an X entity, or None if `tags` is valid IOB2: an oracle
    for the strict rule that to_iob2 enforces, written apart from it."""
    previous = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and entity_type(previous) != tag[2:]:
            return i
        previous = tag
    return None


def test_iob2_violations():
    assert first_iob2_violation(["B-PER", "I-PER", "O"]) is None
    assert first_iob2_violation(["O", "I-PER"]) == 1
    assert first_iob2_violation(["B-PER", "I-LOC"]) == 1
    assert first_iob2_violation(["I-PER"]) == 0


def test_tag_syntax():
    assert all(map(is_valid_tag, ["O", "B-PER", "I-DISEASE", "B-product_name", "B-product-name"]))
    assert not any(map(is_valid_tag, ["o", "B-", "B_PER", "S-PER", "E-PER", "B--X", "PER", "B-A B"]))


def test_tag_syntax_depends_on_the_scheme():
    assert all(is_valid_tag(t, "bioes") for t in ["O", "B-X", "I-X", "E-X", "S-X"])
    assert not any(is_valid_tag(t, "bioes") for t in ["L-X", "U-X", "E-", "S_X"])
    assert all(is_valid_tag(t, "bilou") for t in ["O", "B-X", "I-X", "L-X", "U-X"])
    assert not any(is_valid_tag(t, "bilou") for t in ["E-X", "S-X"])
    assert not is_valid_tag("S-X", "iob1")


def entities(sequences) -> dict:
    """Entities per type, as preprocess counts them for metrics/data.json (the NER task's stats)."""
    table = pa.table({"tokens": [["w"] * len(s) for s in sequences], "tags": sequences,
                      "doc": [0] * len(sequences)})
    return task_part("ner", "preprocess").stats(table, label_list(sequences), ReadOptions())["entities"]


def test_label_list_and_counts():
    sequences = [["B-PER", "I-PER", "O"], ["B-LOC", "B-PER"]]
    assert label_list(sequences) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert entities(sequences) == {"LOC": 1, "PER": 2}


def test_any_label_set():
    sequences = [["B-DISEASE", "I-DISEASE", "O", "B-chemical_name"], ["B-Gene-or-protein"]]
    assert label_list(sequences) == ["O", "B-DISEASE", "I-DISEASE", "B-Gene-or-protein", "I-Gene-or-protein",
                                     "B-chemical_name", "I-chemical_name"]
    assert entities(sequences) == {"DISEASE": 1, "Gene-or-protein": 1, "chemical_name": 1}


@pytest.mark.parametrize("scheme, tags", [
    ("iob2", ["B-X", "I-X", "O", "B-Y", "B-Y", "I-Y"]),
    ("iob1", ["I-X", "I-X", "O", "I-Y", "B-Y", "I-Y"]),
    ("bioes", ["B-X", "E-X", "O", "S-Y", "B-Y", "E-Y"]),
    ("bilou", ["B-X", "L-X", "O", "U-Y", "B-Y", "L-Y"]),
])
def test_each_scheme_reads_as_the_same_iob2(scheme, tags):
    assert to_iob2(tags, scheme) == (["B-X", "I-X", "O", "B-Y", "B-Y", "I-Y"], [])
    assert from_iob2(["B-X", "I-X", "O", "B-Y", "B-Y", "I-Y"], scheme) == tags


def test_bioes_sequences_are_checked_and_repaired():
    assert to_iob2(["B-X", "I-X", "I-X", "E-X", "S-X"], "bioes") == (["B-X", "I-X", "I-X", "I-X", "B-X"], [])
    tags, errors = to_iob2(["O", "E-X", "I-X", "O", "B-Y", "I-X", "E-X"], "bioes")
    assert tags == ["O", "B-X", "B-X", "O", "B-Y", "B-X", "I-X"]
    assert [(i, kind) for i, kind, _ in errors] == [
        (1, "entity not started"), (2, "entity not started"), (2, "entity not ended"),
        (4, "entity not ended"), (5, "entity not started")]
    assert "E-X does not continue an entity (BIOES)" in errors[0][2]
    assert "B-Y ends the Y entity (BIOES ends an entity with E-Y, or marks a one-token entity S-Y)" in errors[3][2]
    _, errors = to_iob2(["S-X", "E-X"], "bioes")  # S- ends its entity: E- cannot continue it
    assert [(i, kind) for i, kind, _ in errors] == [(1, "entity not started")]
    _, errors = to_iob2(["B-X", "I-X"], "bilou")
    assert errors[0][:2] == (1, "entity not ended") and "at the sentence end" in errors[0][2] and "L-X" in errors[0][2]
    _, errors = to_iob2(["U-X", "L-Y"], "bilou")
    assert errors[0][:2] == (1, "entity not started") and "L-Y does not continue an entity (BILOU)" in errors[0][2]


def test_strict_iob2_errors_and_repair():
    assert to_iob2(["O", "I-X", "I-X", "B-Y", "I-Z"], "iob2") == (
        ["O", "B-X", "I-X", "B-Y", "B-Z"],
        [(1, "entity not started", "I-X does not continue an entity (strict IOB2)"),
         (4, "entity not started", "I-Z does not continue an entity (strict IOB2)")])
    assert to_iob2(["O", "I-X"], "iob1") == (["O", "B-X"], [])  # IOB1 starts entities with I-


def all_iob2_sequences(max_length=4, types=("X", "Y")):
    """Every valid IOB2 sequence up to max_length tokens over two entity types."""
    tags = ["O"] + [f"{p}-{t}" for t in types for p in "BI"]
    for n in range(max_length + 1):
        for sequence in itertools.product(tags, repeat=n):
            if first_iob2_violation(list(sequence)) is None:
                yield list(sequence)


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes", "bilou"])
def test_round_trip_through_every_scheme(scheme):
    for sequence in all_iob2_sequences():
        written = from_iob2(sequence, scheme)
        assert all(is_valid_tag(t, scheme) for t in written)
        assert to_iob2(written, scheme) == (sequence, []), (sequence, written)
        # and back: a file in `scheme` read and written again is unchanged
        assert from_iob2(to_iob2(written, scheme)[0], scheme) == written


def test_from_iob2_reads_a_stray_i_as_a_start():
    # Predictions can hold I-X after O; they are written as a valid sequence of the scheme.
    assert from_iob2(["O", "I-X", "I-X", "I-Y"], "bioes") == ["O", "B-X", "E-X", "S-Y"]
    assert from_iob2(["I-X", "B-X"], "iob1") == ["I-X", "B-X"]
    assert from_iob2(["O", "I-X"], "iob2") == ["O", "B-X"]
