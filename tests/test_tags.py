from nerflow.tags import entity_counts, first_iob2_violation, iob1_to_iob2, is_valid_tag, label_list


def test_iob1_to_iob2():
    assert iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG"]) == \
        ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG"]
    assert iob1_to_iob2([]) == []


def test_iob2_violations():
    assert first_iob2_violation(["B-PER", "I-PER", "O"]) is None
    assert first_iob2_violation(["O", "I-PER"]) == 1
    assert first_iob2_violation(["B-PER", "I-LOC"]) == 1
    assert first_iob2_violation(["I-PER"]) == 0


def test_tag_syntax():
    assert all(map(is_valid_tag, ["O", "B-PER", "I-DISEASE", "B-product_name"]))
    assert not any(map(is_valid_tag, ["o", "B-", "B_PER", "S-PER", "E-PER", "B--X", "PER", "B-A B"]))


def test_label_list_and_counts():
    sequences = [["B-PER", "I-PER", "O"], ["B-LOC", "B-PER"]]
    assert label_list(sequences) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert entity_counts(sequences) == {"LOC": 1, "PER": 2}
